/**
 * Content-encoder inference time: `npx tsx bench/encoder.ts [--n 128] [--json]` (or `npm run bench -- encoder`
 * once the bench runner exists). Embeds edx course texts (title + subject + summary) with the installed model at
 * several batch sizes and thread counts; prints ms per text and per batch, and the mean word-piece length.
 */
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { readEdxCourses } from '../lib/datasets/edx';
import { OnnxSentenceEncoder, resolveEncoderDir } from '../lib/encoder';
import { resourceText } from '../models/content/text';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const nIdx = args.indexOf('--n');
  const n = nIdx >= 0 ? Number(args[nIdx + 1]) : 128;
  const file = path.join(__dirname, '..', '..', 'shared', 'datasets', 'edx-courses-metadata', 'edx_courses.csv');
  const texts = readEdxCourses(file)
    .slice(0, n)
    .map((c) => resourceText({ title: c.title, description: c.summary, topics: [c.subject] }));
  const dir = resolveEncoderDir(loadConfig());
  const rows: Record<string, number | string>[] = [];
  for (const threads of [1, 2]) {
    for (const batchSize of [1, 8, 32]) {
      const enc = await OnnxSentenceEncoder.load(dir, { threads, batchSize });
      await enc.encode(texts.slice(0, 4)); // warm-up: first run allocates and optimises
      const t0 = performance.now();
      await enc.encode(texts);
      const ms = performance.now() - t0;
      const meanTokens = texts.reduce((acc, t) => acc + enc.tokenIds(t).length, 0) / texts.length;
      rows.push({ model: enc.manifest.id, threads, batchSize, texts: texts.length, meanTokens: +meanTokens.toFixed(1), msPerText: +(ms / texts.length).toFixed(2), msPerBatch: +((ms / Math.ceil(texts.length / batchSize))).toFixed(1), textsPerSec: +((texts.length / ms) * 1000).toFixed(1) });
      await enc.close();
    }
  }
  if (args.includes('--json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
