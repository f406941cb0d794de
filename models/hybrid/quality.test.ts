import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMovielens } from '../../scripts/eval/movielens';
import { Isgd } from '../baselines/isgd';
import { MostPopular } from '../baselines/popular';
import { OnlineCollab } from '../collab/model';
import { CollabRecommender } from '../eval/adapters';
import { runPrequential } from '../eval/prequential';
import { HybridRecommender } from './blend';

const DIR = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'movielens-latest-small');
const present = existsSync(join(DIR, 'ratings.csv'));
if (!present) {
  console.warn(`SKIP recommendation quality tests: ${DIR} is absent (real data is read in place, never copied)`);
}
const describeData = present ? describe : describe.skip;

describeData('prequential quality on the first 20,000 movielens-latest-small events (seed 1)', () => {
  const events = present ? readMovielens(DIR, 20_000).events : [];
  const popular = present ? runPrequential(events, new MostPopular()) : undefined;

  it('most-popular is in the expected range (protocol sanity check)', () => {
    expect(popular!.testPoints).toBeGreaterThan(9000);
    expect(popular!.recall).toBeGreaterThan(0.05);
    expect(popular!.recall).toBeLessThan(0.15);
  });

  it('the full model beats most-popular by at least 2x on Recall@10 and NDCG@10', () => {
    const full = runPrequential(events, new HybridRecommender({ collab: { seed: 1 } }));
    expect(full.recall).toBeGreaterThan(2 * popular!.recall);
    expect(full.ndcg).toBeGreaterThan(2 * popular!.ndcg);
  });

  it('the online collaborative model alone is at least as good as most-popular; ISGD is not', () => {
    const mf = runPrequential(events, new CollabRecommender(new OnlineCollab({ dim: 8, seed: 1 })));
    const isgd = runPrequential(events, new Isgd({ seed: 1, initOn: 'positive', closenessToOne: false }));
    expect(mf.recall).toBeGreaterThanOrEqual(0.95 * popular!.recall);
    expect(isgd.recall).toBeLessThan(popular!.recall);
  });
});
