import type { Config } from '../../lib/config';
import { stackDown, stackUp, type ServiceName } from '../../infra/stack/index';
import { progress } from './report';

/**
 * Makes sure Kafka, the registry and Redis answer (starting them on a fresh clone) and returns a stop function that
 * stops only what this call started: a stack that was already running (other engineers, CI) is left alone.
 */
export async function ensureStack(config: Config): Promise<{ stop: () => Promise<void>; started: ServiceName[] }> {
  const r = await stackUp(config, { reuseReachable: true, log: (m) => progress(`stack: ${m}`) });
  if (r.started.length) progress(`stack: started ${r.started.join(', ')} in ${r.seconds.toFixed(1)} s`);
  let stopped = false;
  return {
    started: r.started,
    stop: async () => {
      if (stopped || r.started.length === 0) return;
      stopped = true;
      await stackDown(config, { services: r.started });
    },
  };
}
