/**
 * `npm run bench -- <scenario> [--quick] [--json]`: one file per scenario; each prints tables, writes JSON to
 * bench/results/ and, with --json, prints the JSON on stdout.
 */
import * as all from './all';
import * as freshness from './freshness';
import * as ingest from './ingest';
import * as kernel from './kernel';
import * as learner from './learner';
import * as path from 'node:path';
import { runTsx } from './lib/child';
import { parseBenchArgs, type BenchArgs } from './lib/report';
import * as memory from './memory';
import * as pathBench from './path';
import * as read from './read';
import * as changelog from './changelog';
import * as rebuild from './rebuild';
import * as rerank from './rerank';
import * as startup from './startup';

const SCENARIOS: Record<string, { about: string; load: () => Promise<{ run: (a: BenchArgs) => Promise<void> }> }> = {
  kernel: {
    about: 'rank one learner over 10k/100k/1M resources: loops vs ml-matrix vs onnxruntime, IVF for 1M',
    load: () => Promise.resolve(kernel),
  },
  memory: {
    about: 'bytes per learner / resource in the process and in Redis (1M learners, 100k resources)',
    load: () => Promise.resolve(memory),
  },
  read: {
    about: 'read API latency/throughput vs hello-world express and a bare ioredis GET (autocannon)',
    load: () => Promise.resolve(read),
  },
  ingest: {
    about: 'learner-stage events/s (1 and 4 partitions) vs raw kafkajs consume + Avro decode',
    load: () => Promise.resolve(ingest),
  },
  learner: {
    about:
      'learner-stage CPU per event in process (no Kafka/Redis), backlog and live; --baseline <checkout> A/B with list digests; --growth',
    load: () => Promise.resolve(learner),
  },
  encoder: {
    about: 'content-encoder (ONNX sentence embedding) inference time per text and batch (bench/encoder.ts)',
    // bench/encoder.ts runs on load (it predates this runner): started as its own process with the same arguments
    load: () => Promise.resolve({ run: () => runScript('encoder.ts') }),
  },
  startup: {
    about: 'npm start on a fresh clone: cold (empty caches) and warm start times, nothing left after Ctrl-C',
    load: () => Promise.resolve(startup),
  },
  freshness: { about: 'produce -> list written latency at 100, 1,000 and 5,000 events/s', load: () => Promise.resolve(freshness) },
  path: {
    about: 'learning path to a goal with a 500-node ancestor set: planner, route over memory and Redis (p99 ≤ 20 ms)',
    load: () => Promise.resolve(pathBench),
  },
  changelog: {
    about: 'restore time of 100k learners from the Kafka state changelog (empty state dir) vs a file checkpoint; what a commit writes',
    load: () => Promise.resolve(changelog),
  },
  rebuild: {
    about: "learners/s of the serving-view rewrite after Redis comes back empty, vs the same stage's live ingest",
    load: () => Promise.resolve(rebuild),
  },
  rerank: {
    about: 'CPU per models/ranking rank() call on learner-stage inputs (350 candidates, top-100), vs the pre-optimisation ranker',
    load: () => Promise.resolve(rerank),
  },
  all: {
    about:
      'every scenario above in turn, each in its own process, on one stack; one summary of the targets [--with-startup] [--skip a,b] [--pin] [--profiles]',
    load: () => Promise.resolve({ run: () => all.run(process.argv.slice(3)) }),
  },
};

async function runScript(file: string): Promise<void> {
  const code = await runTsx(path.join(__dirname, file), process.argv.slice(3));
  if (code !== 0) throw new Error(`${file} exited with ${code}`);
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const s = name ? SCENARIOS[name] : undefined;
  if (!s) {
    process.stderr.write(
      `usage: npm run bench -- <scenario> [--quick] [--json] [--profile (ingest, freshness, read)]\n\n${Object.entries(SCENARIOS)
        .map(([k, v]) => `  ${k.padEnd(10)} ${v.about}`)
        .join('\n')}\n`,
    );
    process.exit(name ? 2 : 0);
  }
  const mod = await s.load();
  await mod.run(parseBenchArgs(rest));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
