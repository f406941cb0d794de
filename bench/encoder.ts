/**
 * Content-encoder inference time: `npm run bench -- encoder [--n 128] [--json]` (bench/index.ts runs this file as
 * its own process). Embeds edx course texts (title + subject + summary) with the installed model at
 * several batch sizes and thread counts; prints ms per text and per batch (wall), CPU ms per text (user + system of
 * the whole process, so both intra-op threads count when threads = 2: the figure that does not depend on how busy a
 * shared machine is), and the mean word-piece length.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { readEdxCourses } from '../producers/datasets/edx';
import { installModel } from '../infra/model/install';
import { OnnxSentenceEncoder, resolveEncoderDir } from '../lib/encoder';
import { resourceText } from '../models/content/text';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const nIdx = args.indexOf('--n');
  const n = nIdx >= 0 ? Number(args[nIdx + 1]) : 128;
  const file = path.join(__dirname, '..', '..', 'shared', 'datasets', 'edx-courses-metadata', 'edx_courses.csv');
  if (!fs.existsSync(file)) {
    process.stdout.write(`encoder bench skipped: ${file} is absent (the texts are real edx course descriptions)\n`);
    return;
  }
  const texts = readEdxCourses(file)
    .slice(0, n)
    .map((c) => resourceText({ title: c.title, description: c.summary, topics: [c.subject] }));
  await installModel(); // a fresh clone has no model yet: fetched once into the cache, a no-op afterwards
  const dir = resolveEncoderDir(loadConfig());
  const rows: Record<string, number | string>[] = [];
  for (const threads of [1, 2]) {
    for (const batchSize of [1, 8, 32]) {
      const enc = await OnnxSentenceEncoder.load(dir, { threads, batchSize });
      await enc.encode(texts.slice(0, 4)); // warm-up: first run allocates and optimises
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await enc.encode(texts);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const cpuMs = (c.user + c.system) / 1000;
      const meanTokens = texts.reduce((acc, t) => acc + enc.tokenIds(t).length, 0) / texts.length;
      rows.push({
        model: enc.manifest.id,
        threads,
        batchSize,
        texts: texts.length,
        meanTokens: +meanTokens.toFixed(1),
        msPerText: +(ms / texts.length).toFixed(2),
        cpuMsPerText: +(cpuMs / texts.length).toFixed(2),
        msPerBatch: +(ms / Math.ceil(texts.length / batchSize)).toFixed(1),
        textsPerSec: +((texts.length / ms) * 1000).toFixed(1),
      });
      await enc.close();
    }
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ loadavg: load, rows }, null, 2) + '\n');
  else {
    console.table(rows);
    process.stdout.write(`load average at end: ${load} (wall ms include waiting for a core; cpuMsPerText does not)\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
