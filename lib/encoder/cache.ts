import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A file cache of text embeddings, keyed by (model id, sha1 of the text): embedding the 9,742 movielens titles takes
 * minutes on two cores, the eval should not pay that on every run. Two files: `<base>.json` (model id, dim, keys) and
 * `<base>.f32` (row-major float32, one row per key). Only texts not yet cached are embedded; a different model id
 * discards the cache, so vectors of different models never mix.
 */
export async function embedCached(
  embed: (texts: readonly string[]) => Promise<Float32Array[]>,
  modelId: string,
  texts: readonly string[],
  base: string,
  opts: { chunk?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ vectors: Float32Array[]; computed: number }> {
  const key = (t: string) => createHash('sha1').update(t).digest('hex');
  const cached = load(base, modelId);
  const keys = texts.map(key);
  const missing = [
    ...new Set(
      keys
        .map((k, i) => (cached.has(k) ? -1 : i))
        .filter((i) => i >= 0)
        .map((i) => texts[i]),
    ),
  ];
  const chunk = opts.chunk ?? 256;
  for (let s = 0; s < missing.length; s += chunk) {
    const part = missing.slice(s, s + chunk);
    const vecs = await embed(part);
    part.forEach((t, j) => cached.set(key(t), vecs[j]));
    opts.onProgress?.(Math.min(s + chunk, missing.length), missing.length);
  }
  if (missing.length > 0) save(base, modelId, cached);
  return { vectors: keys.map((k) => cached.get(k)!), computed: missing.length };
}

function load(base: string, modelId: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  try {
    const meta = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as { modelId: string; dim: number; keys: string[] };
    if (meta.modelId !== modelId) return out;
    const buf = fs.readFileSync(`${base}.f32`);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (all.length !== meta.keys.length * meta.dim) return out;
    meta.keys.forEach((k, i) => out.set(k, all.slice(i * meta.dim, (i + 1) * meta.dim)));
  } catch {
    // no cache or a damaged one: recompute
  }
  return out;
}

function save(base: string, modelId: string, vectors: Map<string, Float32Array>): void {
  const keys = [...vectors.keys()];
  const dim = keys.length ? vectors.get(keys[0])!.length : 0;
  const all = new Float32Array(keys.length * dim);
  keys.forEach((k, i) => all.set(vectors.get(k)!, i * dim));
  fs.mkdirSync(path.dirname(base), { recursive: true });
  // data first, then the index that makes it valid; tmp + rename so a crash leaves the old pair or nothing usable
  fs.writeFileSync(`${base}.f32.tmp`, Buffer.from(all.buffer));
  fs.renameSync(`${base}.f32.tmp`, `${base}.f32`);
  fs.writeFileSync(`${base}.json.tmp`, JSON.stringify({ modelId, dim, keys }));
  fs.renameSync(`${base}.json.tmp`, `${base}.json`);
}
