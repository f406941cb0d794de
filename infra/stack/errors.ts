import { PrerequisiteError } from '../../lib/errors';

/** A service did not become ready in time; the log file usually says why. */
export function notReady(service: string, seconds: number, logFile: string, lastError?: unknown): PrerequisiteError {
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  return new PrerequisiteError(`${service} did not become ready within ${seconds}s${detail}`, `see ${logFile}`);
}
