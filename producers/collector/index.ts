export { createCollectorRouter, type CollectorLimits, type CollectorOptions, type CollectorResponse, type RejectedEvent } from './router';
export { PROBLEM_BASE, sendProblem, type ProblemError } from './problem';
