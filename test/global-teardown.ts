/** Jest globalTeardown of the integration project: stops what globalSetup started, unless another test run still uses it. */
import { loadConfig } from '../lib/config';
import { releaseStack } from './helpers/stack-lease';

export default async function globalTeardown(): Promise<void> {
  if (process.env.LEARNSTREAM_KEEP_STACK === '1') return;
  const log = (msg: string) => process.stdout.write(`[stack] ${msg}\n`);
  const stopped = await releaseStack(loadConfig(), log);
  if (stopped.length > 0) log(`stopped ${stopped.join(', ')} (started by a test run)`);
}
