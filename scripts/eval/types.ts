/** What every dataset evaluation hands back to the CLI (scripts/eval.ts). */
export interface EvalArgs {
  dataset: string;
  /** dataset folder; each runner has a default under ../shared/datasets */
  path?: string;
  /**
   * recommendation datasets: only events at stream position >= N are test points (every event is still learned):
   * the held-out part after a tuning prefix, e.g. --from 30000 on movielens-latest-small
   */
  from?: number;
  /**
   * served methods: run the configured experiment with this id (config `experiments`, LEARNSTREAM_CONFIG) through the
   * served path, each learner ranked under their variant, and report Recall@10 per variant (docs/experiments.md)
   */
  experiment?: string;
  /**
   * Served path: events per emulated fetched batch (the learner stage re-ranks the learners a batch touched once at its
   * end); a batch also ends before an event whose learner it already holds. Default 64; 1 = a re-rank after every event.
   */
  batchEvents?: number;
  /** evaluate only the first N events of the stream (in time order) */
  limit?: number;
  /** write the along-the-stream figure here (SVG); default docs/img/eval-<dataset>.svg; 'none' disables */
  plot?: string;
  /** comma-separated method names to run (default: all of the runner's methods) */
  methods?: string[];
  seed?: number;
  /** statics only: 'test' (the DKVMN test file, default) or 'validation' (held-out train sequences, no test file) */
  split?: string;
  /** run methods in this many worker threads (1 = in this thread, in order, with CPU time per method); default
   * min(2, cores) */
  workers?: number;
  /** kernels: rankings timed per kernel and dimension (see scripts/eval/kernels.ts), default 2000; edx-interests:
   * alternating rounds of the re-rank cost, default 15 */
  reps?: number;
  /** kernels: catalogue size, default 9742; edx-interests: rows of the synthetic catalogue of the cost part, default
   * 10000 */
  items?: number;
  /** kernels only: factor dimensions; default 10,32 */
  dims?: number[];
}

export interface EvalTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface EvalReport {
  dataset: string;
  /** the exact source read */
  source: string;
  tables: EvalTable[];
  /** machine-readable results, printed with --json */
  results: unknown;
  /** SVG figures to write: path -> svg text */
  figures: { path: string; svg: string }[];
  totalSeconds: number;
  /** CPU seconds of the whole process (all threads), when the runner measures it */
  totalCpuSeconds?: number;
}

export type EvalRunner = (args: EvalArgs) => Promise<EvalReport>;
