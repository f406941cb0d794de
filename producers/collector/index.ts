export {
  createCollectorRouter,
  type CollectorLimits,
  type CollectorOptions,
  type CollectorResponse,
  type EventIssue,
  type RejectedEvent,
} from './router';
export { PROBLEM_BASE, sendProblem, type ProblemError } from '../../lib/problems';
