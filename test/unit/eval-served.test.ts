/**
 * The served-path evaluation drives the production learner stage (LearnerProcessor, the configuration npm start
 * uses) and scores what the read API's serveRecommendations answers before each event: on the first 6,000
 * movielens-latest-small events it beats most-popular on the same test points, and the CLI names its results.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MostPopular } from '../../models/baselines/popular';
import { runPrequential } from '../../models/eval/prequential';
import { readMovielens } from '../../scripts/eval/movielens';
import { evalMovielens } from '../../scripts/eval/recommendation';
import { runServed } from '../../scripts/eval/served';

const DIR = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'movielens-latest-small');
const present = existsSync(join(DIR, 'ratings.csv'));
if (!present) console.warn(`SKIP served-path evaluation tests: ${DIR} is absent (real data is read in place, never copied)`);
const describeData = present ? describe : describe.skip;

jest.setTimeout(120_000);

describeData('served-path evaluation (first 4,000 movielens-latest-small events)', () => {
  it('the served list beats most-popular on the same test points, and most lists come from the learner stage', async () => {
    const stream = readMovielens(DIR, 4000);
    const served = await runServed(stream, 'served');
    const popular = runPrequential(stream.events, new MostPopular('positives'));
    expect(served.testPoints).toBe(popular.testPoints);
    expect(served.recall).toBeGreaterThan(1.5 * popular.recall);
    // a learner's first test point may come before their first list: the API's labelled fallback answers it
    expect(served.personal).toBeGreaterThan(0.9 * served.testPoints);
    expect(served.reranks).toBeGreaterThan(0);
  });

  it('--methods served,served-relevance-only,most-popular,full-model --from gives named results with recall, ndcg and testPoints', async () => {
    // the CLI's naming and alignment of results, not their quality (test 1 and npm run eval judge that): a short stream
    const report = await evalMovielens({
      dataset: 'movielens',
      path: DIR,
      limit: 1000,
      from: 500,
      plot: 'none',
      methods: ['served', 'served-relevance-only', 'most-popular', 'full-model'],
      workers: 1,
    });
    const results = report.results as { name: string; recall: number; ndcg: number; testPoints: number }[];
    expect(results.map((r) => r.name)).toEqual(['served', 'served-relevance-only', 'most-popular', 'full-model']);
    const points = results[0].testPoints;
    expect(points).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.testPoints).toBe(points);
      expect(r.recall).toBeGreaterThanOrEqual(0);
      expect(r.ndcg).toBeLessThanOrEqual(r.recall);
    }
    // fewer test points than the whole stream: the prefix before --from is learned, not tested
    const all = runPrequential(readMovielens(DIR, 1000).events, new MostPopular('positives'));
    expect(points).toBeLessThan(all.testPoints);
  });
});
