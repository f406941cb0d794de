import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { embedCached } from '../../lib/encoder/cache';

describe('embedCached', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-embcache-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const embed = (texts: readonly string[]) => {
    seen.push(...texts);
    return Promise.resolve(texts.map((t) => Float32Array.from([t.length, t.charCodeAt(0) || 0])));
  };

  it('embeds only texts not cached yet, survives a reload, and is discarded for another model id', async () => {
    const base = path.join(dir, 'c');
    const a = await embedCached(embed, 'm1', ['alpha', 'beta', 'alpha'], base);
    expect(a.computed).toBe(2);
    expect(Array.from(a.vectors[2])).toEqual([5, 97]);
    const b = await embedCached(embed, 'm1', ['beta', 'gamma'], base);
    expect(b.computed).toBe(1);
    expect(seen).toEqual(['alpha', 'beta', 'gamma']);
    expect(Array.from(b.vectors[0])).toEqual([4, 98]);
    const c = await embedCached(embed, 'm2', ['beta'], base);
    expect(c.computed).toBe(1);
  });
});
