/**
 * npm run replay -- --dataset <movielens|oulad|ednet|statics> [--path <dir>] [--rate N] [--limit N]
 *                   [--id-prefix P] [--no-catalogue] [--no-register]
 *
 * Replays a real dataset into Kafka in its original time order (timestamps are the dataset's, in occurredAt; the
 * Kafka record timestamp stays the send time so retention does not delete 1996 data on arrival). Every record is
 * validated first (schemas/validate.ts, as the collector does); invalid ones are counted with their reason, never
 * sent. Progress bar on stderr, summary on stdout (last line is JSON); exit code 1 when anything failed. Creates missing topics and registers the schemas (idempotent) unless
 * --no-register.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config';
import { DATASET_NAMES, DEFAULT_DATASET_DIRS, readDataset, type DatasetName } from '../datasets';
import { errorMessage } from '../../lib/errors';
import { createKafka } from '../../lib/kafka/client';
import { ensureTopics } from '../../lib/kafka/topics';
import { createRegistryClient } from '../../lib/registry/client';
import { registerSchemas } from '../../lib/serde';
import { Publisher } from '../publisher';
import { progressLine, replay } from './replay';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string' },
      path: { type: 'string' },
      rate: { type: 'string' },
      limit: { type: 'string' },
      'id-prefix': { type: 'string' },
      'no-catalogue': { type: 'boolean' },
      'no-register': { type: 'boolean' },
    },
  });
  const name = values.dataset as DatasetName | undefined;
  if (!name || !DATASET_NAMES.includes(name)) throw new Error(`--dataset must be one of ${DATASET_NAMES.join(', ')}`);
  const num = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number`);
    return n;
  };
  const rate = num(values.rate, '--rate');
  const limit = num(values.limit, '--limit');
  const dir = values.path ?? DEFAULT_DATASET_DIRS[name];

  const config = loadConfig();
  const t0 = performance.now();
  const dataset = readDataset(name, dir, { idPrefix: values['id-prefix'], limit });
  process.stderr.write(
    `read ${name} from ${dir}: ${dataset.resources.length.toLocaleString('en-US')} resources, ${dataset.events.length.toLocaleString('en-US')} events in ${Math.round(performance.now() - t0)} ms\n`,
  );
  for (const note of dataset.notes) process.stderr.write(`  note: ${note}\n`);

  const kafka = createKafka(config, 'replay');
  const registry = createRegistryClient(config);
  if (!values['no-register']) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config);
    } finally {
      await admin.disconnect();
    }
    await registerSchemas(registry, config);
  }
  const publisher = await Publisher.create({ kafka, registry, topicPrefix: config.kafka.topicPrefix, maxBatchRecords: 2000, lingerMs: 10 });
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  try {
    const summary = await replay(dataset, publisher, {
      rate,
      catalogue: !values['no-catalogue'],
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r${progressLine(p)}`);
        else if (performance.now() - lastLine > 2000 || p.done === p.total) {
          lastLine = performance.now();
          process.stderr.write(`${progressLine(p)}\n`);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    const secs = summary.durationMs / 1000;
    process.stdout.write(
      `replayed ${summary.dataset}: ${summary.acked.toLocaleString('en-US')} records acked (${summary.resources.toLocaleString('en-US')} resources + ${summary.events.toLocaleString('en-US')} events), ` +
        `${summary.failed} failed (${summary.invalid} invalid, never sent), in ${secs.toFixed(1)} s = ${Math.round(summary.eventsPerSec).toLocaleString('en-US')} records/s\n`,
    );
    if (summary.invalid > 0) process.stdout.write(`invalid records by issue code: ${JSON.stringify(summary.invalidByCode)}\n`);
    if (Object.keys(summary.skipped).length > 0) process.stdout.write(`skipped while mapping: ${JSON.stringify(summary.skipped)}\n`);
    for (const e of summary.errors) process.stdout.write(`error: ${e}\n`);
    process.stdout.write(
      `${JSON.stringify({ ...summary, durationMs: Math.round(summary.durationMs), eventsPerSec: Math.round(summary.eventsPerSec) })}\n`,
    );
    if (summary.failed > 0) process.exitCode = 1;
  } finally {
    await publisher.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`replay failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
