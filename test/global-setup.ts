/**
 * Jest globalSetup of the integration project: makes sure the real Kafka, registry and Redis are there. Starts the
 * local stack when they are not (and remembers it, so globalTeardown stops exactly that); reuses whatever already
 * answers; starts nothing for services configured as external (LEARNSTREAM_KAFKA_BROKERS etc.).
 */
import { loadConfig } from '../lib/config';
import { stackStatus } from '../infra/stack/index';
import { acquireStack } from './helpers/stack-lease';

export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const log = (msg: string) => process.stdout.write(`[stack] ${msg}\n`);
  process.stdout.write('\n');
  const res = await acquireStack(config, log);
  const started = res.started.length > 0 ? `started ${res.started.join(', ')} in ${res.seconds.toFixed(1)}s` : 'already running';
  log(`integration stack ${started}`);
  for (const s of await stackStatus(config)) {
    if (s.service === 'prometheus' && !s.reachable) continue;
    log(`${s.service.padEnd(10)} ${s.reachable ? 'up  ' : 'DOWN'} ${s.managed ? `port ${s.port}` : 'external'}  ${s.detail ?? ''}`);
  }
}
