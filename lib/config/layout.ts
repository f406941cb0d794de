/**
 * How the pipeline runs as processes (issue 19, item 2): the learner stage as one process per core, each a member of
 * the learner consumer group (partitions spread by the group), and the other stages (item, catalogue, experiment)
 * together in one process of their own, so that no stage starves another of a core. `npm start`, the systemd units and
 * the k8s manifests all follow this layout; the ports are derived here once.
 *
 *   process              stages                       /metrics, /healthz, /readyz port
 *   pipeline             item, catalog, experiment    metrics.port
 *   learner-<i>          learner (i = 0 .. n-1)       metrics.port + 1 + i
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
}

/** The /metrics port of learner instance `i` (0-based): metrics.port + 1 + i. */
export function learnerMetricsPort(config: Config, i: number): number {
  return config.metrics.port + 1 + i;
}

/** Every pipeline process of the layout: the non-learner stages first, then the learner instances. */
export function pipelineProcesses(config: Config, learners = learnerInstanceCount(config)): PipelineProcess[] {
  const ports = Array.from({ length: learners }, (_, i) => learnerMetricsPort(config, i));
  const stages = 'item,catalog,experiment';
  const out: PipelineProcess[] = [{ name: 'pipeline', stages, metricsPort: config.metrics.port, args: ['--stage', stages, ...(learners > 0 ? ['--learner-peers', ports.join(',')] : [])] }];
  for (let i = 0; i < learners; i++) out.push({ name: `learner-${i}`, stages: 'learner', instance: i, metricsPort: ports[i], args: ['--stage', 'learner', '--instance', String(i)] });
  return out;
}
