import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMovieLens, readMovieLensMovies, readMovieLensRatings } from '../../producers/datasets/movielens';
import { readMovielens, sameSecondShare } from '../../scripts/eval/movielens';
import { evalMovielens, movielensDir } from '../../scripts/eval/recommendation';

/** The classic ml-100k layout in miniature: tab-separated u.data without a header, pipe-separated latin1 u.item. */
const U_DATA = [
  '196\t242\t3\t881250949',
  '186\t302\t3\t891717742',
  '22\t377\t1\t878887116',
  '196\t302\t5\t881250900',
  '',
  '22\t242\t4\t878887116',
].join('\n');
const U_GENRE = ['unknown|0', 'Action|1', 'Comedy|2', ''].join('\n');
const U_ITEM = [
  '242|Kolya (1996)|24-Jan-1997||http://example.invalid/kolya|0|0|1',
  '302|L.A. Confidential (1997)|01-Jan-1997||http://example.invalid/la|0|1|0',
  '377|Heavyweights (1994)|01-Jan-1994||http://example.invalid/hw|1|0|1',
].join('\n');

describe('MovieLens classic ml-100k layout (u.data)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ml100k-'));
    writeFileSync(join(dir, 'u.data'), U_DATA);
    writeFileSync(join(dir, 'u.genre'), U_GENRE);
    writeFileSync(join(dir, 'u.item'), Buffer.from(U_ITEM, 'latin1'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every u.data row in file order (no header; blank lines skipped), seconds -> ms', () => {
    expect(readMovieLensRatings(dir)).toEqual([
      { userId: '196', itemId: '242', rating: 3, timestampMs: 881250949000 },
      { userId: '186', itemId: '302', rating: 3, timestampMs: 891717742000 },
      { userId: '22', itemId: '377', rating: 1, timestampMs: 878887116000 },
      { userId: '196', itemId: '302', rating: 5, timestampMs: 881250900000 },
      { userId: '22', itemId: '242', rating: 4, timestampMs: 878887116000 },
    ]);
  });

  it('reads u.item genres from the u.genre names (unknown dropped) and the year of the release date', () => {
    expect(readMovieLensMovies(dir)).toEqual([
      { itemId: '242', title: 'Kolya (1996)', genres: ['Comedy'], year: 1997, tags: [] },
      { itemId: '302', title: 'L.A. Confidential (1997)', genres: ['Action'], year: 1997, tags: [] },
      { itemId: '377', title: 'Heavyweights (1994)', genres: ['Comedy'], year: 1994, tags: [] },
    ]);
  });

  it('maps to a time-ordered dataset of rate interactions and video resources', () => {
    const ds = readMovieLens(dir, { idPrefix: 'ml-' });
    expect(ds.events.map((e) => (e.kind === 'interaction' ? [e.event.userId, e.event.resourceId, e.event.value] : e.kind))).toEqual([
      ['ml-22', 'ml-377', 1],
      ['ml-22', 'ml-242', 4],
      ['ml-196', 'ml-302', 5],
      ['ml-196', 'ml-242', 3],
      ['ml-186', 'ml-302', 3],
    ]);
    expect(ds.resources.map((r) => [r.resourceId, r.type, r.topics])).toEqual([
      ['ml-242', 'video', ['Comedy']],
      ['ml-302', 'video', ['Action']],
      ['ml-377', 'video', ['Comedy']],
    ]);
  });

  it('becomes the eval stream: stable time sort (ties keep file order), dense ids by first appearance', () => {
    const s = readMovielens(dir);
    expect(s.file).toBe(join(dir, 'u.data'));
    expect(s.events.map((e) => [s.userIds[e.user], s.itemIds[e.item], e.value])).toEqual([
      ['22', '377', 1],
      ['22', '242', 4],
      ['196', '302', 5],
      ['196', '242', 3],
      ['186', '302', 3],
    ]);
    expect(s.events.map((e) => e.item)).toEqual([0, 1, 2, 1, 2]);
    // user 22 rated 377 and 242 in the same second; the other two users' ratings are seconds apart
    expect(sameSecondShare(s.events)).toBeCloseTo(2 / 5);
    expect(sameSecondShare([])).toBe(0);
  });

  it('npm run eval -- --dataset ml-100k --path <dir> evaluates the u.data file', async () => {
    const report = await evalMovielens({ dataset: 'ml-100k', path: dir, plot: 'none', workers: 1, methods: ['most-popular'] });
    expect(report.source).toBe(join(dir, 'u.data'));
    expect(report.tables[0].title).toContain('5 events, 2 test points');
    expect(report.tables[0].title).toContain('40.0% of events share their second with another of the same learner');
  });

  it('--dataset ml-100k without --path fails clearly instead of reading latest-small', async () => {
    expect(() => movielensDir({ dataset: 'ml-100k' })).toThrow(/--dataset ml-100k needs --path/);
    await expect(evalMovielens({ dataset: 'ml-100k', plot: 'none', workers: 1 })).rejects.toThrow(/needs --path/);
    const empty = mkdtempSync(join(tmpdir(), 'ml100k-empty-'));
    try {
      expect(() => movielensDir({ dataset: 'ml-100k', path: empty })).toThrow(/no u\.data in/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(movielensDir({ dataset: 'movielens' })).toMatch(/movielens-latest-small$/);
  });
});
