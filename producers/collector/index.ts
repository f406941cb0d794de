export { createCollectorRouter, type CollectorLimits, type CollectorOptions, type CollectorResponse, type EventIssue, type RejectedEvent } from './router';
export { sendProblem, type ProblemError } from './problem';
export { PROBLEM_BASE } from '../../lib/problems';
