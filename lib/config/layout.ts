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
  /** LEARNSTREAM_METRICS_PORT of the process. */
  metricsPort: number;
}

/** The /metrics port of learner instance `i` (0-based): metrics.port + 1 + i. */
export function learnerMetricsPort(config: Config, i: number): number {
  return config.metrics.port + 1 + i;
}

/** Every pipeline process of the layout: the non-learner stages first, then the learner instances. */
export function pipelineProcesses(config: Config, learners = learnerInstanceCount(config)): PipelineProcess[] {
  const out: PipelineProcess[] = [{ name: 'pipeline', stages: 'item,catalog,experiment', metricsPort: config.metrics.port }];
  for (let i = 0; i < learners; i++) out.push({ name: `learner-${i}`, stages: 'learner', instance: i, metricsPort: learnerMetricsPort(config, i) });
  return out;
}
