/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * Inverted-file candidates of large catalogues (pipelines/learner/ivf): built in the background from the live item
 * table, then each learner's candidates come from its nearest partitions with its mask applied, rows added since the
 * build included, and the index rebuilt once the rows have moved. Recall is against the exact kernel on the same rows.
 */
import { createLogger } from '../../lib/log';
import { mulberry32 } from '../../models/random/prng';
import { CandidateGenerator } from '../../pipelines/learner/candidates';
import { ItemTable } from '../../pipelines/model/item-table';

const logger = createLogger({ level: 'error' });
const dim = 16;

function clusteredTable(n: number, seed: number): ItemTable {
  const rng = mulberry32(seed);
  const centers = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, () => rng() * 2 - 1));
  const table = new ItemTable(dim);
  for (let i = 0; i < n; i++) {
    const c = centers[Math.floor(rng() * centers.length)];
    table.set({
      itemId: `r${i}`,
      factors: Float32Array.from(c, (x) => x + (rng() - 0.5) * 0.6),
      bias: rng() * 0.05,
      count: 1,
      lastT: 0,
      active: i % 101 !== 0,
    });
  }
  return table;
}

function users(count: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => rng() * 2 - 1));
}

function recall(got: Int32Array, truth: Int32Array): number {
  const t = new Set(truth);
  let hit = 0;
  for (const i of got) if (t.has(i)) hit++;
  return hit / truth.length;
}

jest.setTimeout(30_000);

describe('IVF candidates', () => {
  it('serves from the index once built: high recall against exact, masks and removed rows respected, new rows scanned', async () => {
    const table = clusteredTable(12_000, 11);
    const us = users(40, 12);
    const excluded = us.map((_, j) => Array.from({ length: 50 }, (_x, q) => (j * 997 + q * 613) % table.size));
    const adjust = (j: number, row: Float32Array) => {
      for (const i of excluded[j]) row[i] = -Infinity;
    };
    const ivf = new CandidateGenerator({ dim, logger, kernel: 'js', ivf: { minRows: 10_000, nlist: 48, nprobe: 10 } });
    const exact = new CandidateGenerator({ dim, logger, kernel: 'js', ivf: { minRows: 0 } });
    expect(exact.ivf).toBeNull();

    // the first call starts the build and is served exactly meanwhile
    ivf.generateSync(table, us, adjust, 10);
    expect(ivf.scored).toEqual({ onnx: 0, js: 40, ivf: 0 });
    await ivf.ivf!.pending;
    expect(ivf.ivf!.builds).toBe(1);
    expect(ivf.ivf!.indexed).toBe(12_000);

    const got = ivf.generateSync(table, us, adjust, 10);
    const truth = exact.generateSync(table, us, adjust, 10);
    expect(ivf.scored.ivf).toBe(40);
    const r = got.reduce((s, g, j) => s + recall(g.indices, truth[j].indices), 0) / us.length;
    expect(r).toBeGreaterThanOrEqual(0.95);
    got.forEach((g, j) => {
      for (const i of g.indices) {
        expect(table.active[i]).toBe(1);
        expect(excluded[j]).not.toContain(i);
      }
      // scores are the live scores of the rows returned, best first
      for (let q = 1; q < g.scores.length; q++) expect(g.scores[q]).toBeLessThanOrEqual(g.scores[q - 1]);
    });

    // the same exclusions as a row filter (the learner stage's path: no mask row over the catalogue): the same lists
    const viaFilter = ivf.generateSync(table, us, adjust, 10, (j) => {
      const out = new Set(excluded[j]);
      return (i) => !out.has(i);
    });
    expect(viaFilter.map((g) => Array.from(g.indices))).toEqual(got.map((g) => Array.from(g.indices)));

    // a mask that removes more than the over-fetch of the best rows: scanned again with the mask, nothing masked returned
    const [wide] = exact.generateSync(table, [us[1]], () => undefined, 600);
    const masked = new Set(wide.indices.subarray(0, 500));
    const [afterMask] = ivf.generateSync(table, [us[1]], (_j, row) => masked.forEach((i) => (row[i] = -Infinity)), 10);
    expect(ivf.ivf!.maskedScans).toBe(1);
    expect(afterMask.indices.length).toBe(10);
    for (const i of afterMask.indices) expect(masked.has(i)).toBe(false);

    // a row added after the build is scanned though no partition holds it
    const u = us[0];
    const best = table.set({ itemId: 'fresh', factors: Float32Array.from(u, (x) => x * 10), bias: 0, count: 1, lastT: 0, active: true });
    const [top] = ivf.generateSync(table, [u], () => undefined, 10);
    expect(top.indices[0]).toBe(best);
  });

  it('rebuilds once the rows written since the build reach the indexed count, and the onnxruntime build agrees', async () => {
    const table = clusteredTable(8_000, 21);
    const gen = new CandidateGenerator({ dim, logger, ivf: { minRows: 5_000, nlist: 32, nprobe: 8, rebuildWrites: 0.5 } });
    await gen.init();
    expect(gen.usesOnnx).toBe(true);
    try {
      const us = users(8, 22);
      await gen.generate(table, us, () => undefined, 10);
      await gen.ivf!.pending;
      expect(gen.ivf!.builds).toBe(1);
      await gen.generate(table, us, () => undefined, 10);
      expect(gen.scored.ivf).toBe(8);
      expect(gen.ivf!.pending).toBeNull();
      // move half the rows: due for a rebuild
      for (let i = 0; i < 4_001; i++)
        table.set({ itemId: `r${i}`, factors: table.row(i).map((x) => -x), bias: 0, count: 1, lastT: 0, active: true });
      const exact = new CandidateGenerator({ dim, logger, kernel: 'js', ivf: { minRows: 0 } });
      const truth = exact.generateSync(table, us, () => undefined, 10);
      const recallOf = (got: { indices: Int32Array }[]) => got.reduce((s, g, j) => s + recall(g.indices, truth[j].indices), 0) / us.length;
      // served by the stale index while the new one builds
      const stale = recallOf(await gen.generate(table, us, () => undefined, 10));
      expect(gen.ivf!.pending).not.toBeNull();
      await gen.ivf!.pending;
      expect(gen.ivf!.builds).toBe(2);
      const fresh = recallOf(await gen.generate(table, us, () => undefined, 10));
      // half the rows negated: 80 clusters in 32 partitions, the stale index scans the wrong ones
      expect(fresh).toBeGreaterThan(stale);
      expect(fresh).toBeGreaterThanOrEqual(0.75);
    } finally {
      await gen.release();
    }
  });
});
