import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { topicName } from '../../schemas/topics';
import { testKafka } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..');

/** A pipeline stage running as its own OS process (`node --import tsx pipelines/main.ts ...`), so kill -9 is real. */
export class StageProcess {
  private child: ChildProcess | null = null;
  private exitP: Promise<number | null> | null = null;
  readonly logFile: string;
  starts = 0;
  /**
   * Restart the process 1 s after it exits on its own (not through kill9 or stop), as npm start's supervisor,
   * systemd and Kubernetes do: a stage that stalls exits non-zero to be restarted (pipeline.maxPauseMs).
   */
  supervise = false;
  /** Exit codes of the exits the test did not ask for, in order. */
  readonly ownExits: (number | null)[] = [];
  private asked = false;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    logDir: string,
  ) {
    this.logFile = path.join(logDir, `${name}.log`);
  }

  start(): void {
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, ['--import', 'tsx', 'pipelines/main.ts', ...this.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.starts++;
    this.asked = false;
    const child = this.child;
    this.exitP = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('exit', (code) => {
      if (this.asked || !this.supervise) return;
      this.ownExits.push(code);
      setTimeout(() => {
        if (!this.asked && this.child === child) this.start();
      }, 1000).unref();
    });
  }

  /** The OS process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: no shutdown hook runs, in-memory state since the last checkpoint is lost. */
  async kill9(): Promise<void> {
    if (!this.child) return;
    this.asked = true;
    this.child.kill('SIGKILL');
    await this.exitP;
    this.child = null;
  }

  /**
   * SIGTERM: graceful stop (final checkpoint). Resolves with the exit code. Waits first until the process serves
   * /metrics (its signal handlers are installed by then): a process restarted a moment ago would otherwise die of the
   * default SIGTERM action instead of stopping gracefully.
   */
  async stop(): Promise<number | null> {
    if (!this.child) return null;
    const port = this.metricsPort;
    if (port) {
      const deadline = Date.now() + 60_000;
      while (this.running && Date.now() < deadline) {
        try {
          await fetch(`http://127.0.0.1:${port}/metrics`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    this.asked = true;
    this.child.kill('SIGTERM');
    const code = await this.exitP;
    this.child = null;
    return code;
  }

  /** The port its /metrics answers on: LEARNSTREAM_METRICS_PORT, + 1 + I with `--instance I` (lib/config/layout.ts). */
  get metricsPort(): number | undefined {
    const base = this.env.LEARNSTREAM_METRICS_PORT;
    if (!base) return undefined;
    const i = this.args.indexOf('--instance');
    return i >= 0 ? Number(base) + 1 + Number(this.args[i + 1]) : Number(base);
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/** Environment that points a stage process at the test's topics, keys, state and a free metrics port. */
export function stageEnv(config: Config, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LEARNSTREAM_KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
    LEARNSTREAM_KAFKA_PARTITIONS: String(config.kafka.partitions),
    LEARNSTREAM_REDIS_KEY_PREFIX: config.redis.keyPrefix,
    LEARNSTREAM_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Sum of learnstream_pipeline_events_consumed_total on a stage's /metrics (0 while it is not up). */
export async function eventsConsumed(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('learnstream_pipeline_events_consumed_total{')) sum += Number(line.split(' ').pop());
    return sum;
  } catch {
    return 0;
  }
}

export interface CheckpointFile<S> {
  offsets: Record<string, string>;
  state: S;
}

/** Every checkpoint of a stage in a state dir, by group. */
export function readCheckpoints<S>(stateDir: string, stage: string): Map<number, CheckpointFile<S>> {
  const dir = path.join(stateDir, stage);
  const out = new Map<number, CheckpointFile<S>>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir)) {
    const m = /^group-(\d+)\.json$/.exec(f);
    if (m) out.set(Number(m[1]), JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CheckpointFile<S>);
  }
  return out;
}

/** High watermark of every partition of an input topic (the offsets a stage's checkpoints reach when caught up). */
export async function endOffsets(config: Config, key: 'interactions' | 'itemUpdates'): Promise<Map<number, string>> {
  const admin = testKafka(config, 'stage-end-offsets').admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(topicName(key, config.kafka.topicPrefix));
    return new Map(offs.map((o) => [o.partition, o.high]));
  } finally {
    await admin.disconnect();
  }
}

/** True when every checkpoint of `stage` has reached `ends` for `topic`. */
export function caughtUp(stateDir: string, stage: string, topic: string, ends: Map<number, string>): boolean {
  const cps = readCheckpoints<unknown>(stateDir, stage);
  for (const [p, end] of ends) {
    if (end === '0') continue;
    const off = cps.get(p)?.offsets[`${topic}:${p}`];
    if (off !== end) return false;
  }
  return true;
}

/** Applied position of a stage (sum over groups of its checkpoint offsets for `topic`). */
export function checkpointed(stateDir: string, stage: string, topic: string): number {
  let sum = 0;
  for (const [p, cp] of readCheckpoints<unknown>(stateDir, stage)) sum += Number(cp.offsets[`${topic}:${p}`] ?? 0);
  return sum;
}

let nextPort = 19600 + Math.floor(Math.random() * 300);
/** A port for a stage's metrics; `span` consecutive ones (a base port and its learner instances' ports after it). */
export function freePort(span = 1): number {
  const p = nextPort;
  nextPort += span;
  return p;
}
