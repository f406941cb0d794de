/**
 * How the pipeline runs as processes (issue 19, item 2): the learner stage as one process per core, each a member of
 * the learner consumer group (partitions spread by the group), and the other stages (item, catalogue, experiment)
 * together in one process of their own, so that no stage starves another of a core. `npm start`, the systemd units and
 * the k8s manifests all follow this layout; the ports are derived here once.
 *
 *   process              stages                       /metrics, /healthz, /readyz port   nice
 *   pipeline             item, catalog, experiment    metrics.port                       0
 *   learner-<i>          learner (i = 0 .. n-1)       metrics.port + 1 + i               10
 */
import { learnerInstanceCount, type Config } from './schema';

export { learnerInstanceCount } from './schema';

export interface PipelineProcess {
  /** Supervisor / log name: `pipeline` or `learner-<i>`. */
  name: string;
  /** `--stage` argument of pipelines/main.ts. */
  stages: string;
  /** Learner instance index, for the learner processes. */
  instance?: number;
  /** The port its /metrics, /healthz and /readyz answer on (metrics.port, or metrics.port + 1 + i for learner-i). */
  metricsPort: number;
  /**
   * Its pipelines/main.ts arguments: `--stage <stages>`, `--instance i` for a learner, `--learner-peers <ports>` for the
   * pipeline process (its /readyz reports every learner instance). Every process gets the base LEARNSTREAM_METRICS_PORT.
   */
  args: string[];
  /**
   * Scheduling niceness the supervisor gives it: the learner instances run at 10, so that when the cores are busy
   * (a backlog, a start-up burst) the read API, whose latency a learner waits on, and the light item/catalogue
   * process get the CPU first; the learners take every cycle left, which with spare cores is all they need.
   */
  nice: number;
}

/** Niceness of the learner instances (see PipelineProcess.nice); the API and the pipeline process run at 0. */
export const LEARNER_NICE = 10;

/** The /metrics port of learner instance `i` (0-based): metrics.port + 1 + i. */
export function learnerMetricsPort(config: Config, i: number): number {
  return config.metrics.port + 1 + i;
}

/** Every pipeline process of the layout: the non-learner stages first, then the learner instances. */
export function pipelineProcesses(config: Config, learners = learnerInstanceCount(config)): PipelineProcess[] {
  const ports = Array.from({ length: learners }, (_, i) => learnerMetricsPort(config, i));
  const stages = 'item,catalog,experiment';
  const out: PipelineProcess[] = [
    {
      name: 'pipeline',
      stages,
      metricsPort: config.metrics.port,
      args: ['--stage', stages, ...(learners > 0 ? ['--learner-peers', ports.join(',')] : [])],
      nice: 0,
    },
  ];
  for (let i = 0; i < learners; i++)
    out.push({
      name: `learner-${i}`,
      stages: 'learner',
      instance: i,
      metricsPort: ports[i],
      args: ['--stage', 'learner', '--instance', String(i)],
      nice: LEARNER_NICE,
    });
  return out;
}
