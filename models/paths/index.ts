/** Learning paths to a goal over the prerequisite graph (pure: no I/O). */
export {
  chainDepths,
  pathViolation,
  planPath,
  type PathNode,
  type PathStep,
  type PlanInput,
  type PlanResult,
  type Standing,
} from './planner';
export { plannableGraph, type CatalogueNode } from './graph';
export { DEFAULT_MASTERY_THRESHOLD, DEFAULT_REVIEW_RULE, prerequisiteToReview, standingOf, type ReviewRule } from './standing';
