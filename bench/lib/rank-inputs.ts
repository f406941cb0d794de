import type { Candidate, LearnerContext, PredictSuccess } from '../../models/ranking';
import type { RankInput, RankOptionsInput } from '../../models/ranking';
import { gaussian, mulberry32, type Rng } from '../../models/random/prng';
import { makeItems, makeTopics } from './factors';

/** A candidate with the factor row the learner stage hands to MMR as its similarity vector. */
export interface RowCandidate extends Candidate {
  row: number;
}

export interface RankCase {
  input: RankInput<RowCandidate>;
  options: RankOptionsInput;
}

export interface RankCaseOptions {
  /** Candidates handed to rank() (before its dedupe). */
  n: number;
  /** Factor dimension (config model.dim, default 32). */
  dim?: number;
  /**
   * `learner`: shaped like pipelines/learner/rank.ts (topN 100, mmrHead 20, reserveNew 3, factor rows as MMR vectors,
   * topic interest matches, no content vectors). `mixed`: everything the ranker can be given (content vectors,
   * interests, recent vectors, duplicates, tied scores, missing and zero vectors, mastered resources) and varied
   * options, for the equivalence test.
   */
  shape?: 'learner' | 'mixed';
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

function unit(rng: Rng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let d = 0; d < dim; d++) {
    v[d] = gaussian(rng, 1);
    s += v[d] * v[d];
  }
  const inv = 1 / Math.sqrt(s);
  for (let d = 0; d < dim; d++) v[d] *= inv;
  return v;
}

const TOPICS = ['algebra', 'history', 'biology', 'music', 'physics', 'poetry', 'databases', 'statistics'];
const TYPES = ['video', 'course', 'article', 'quiz'];

/**
 * Seeded rank() inputs: the same seed always gives the same case. The catalogue has 3n resources so prerequisites
 * and completed ids point both at candidates and at resources outside the pool.
 */
export function makeRankCase(seed: number, opts: RankCaseOptions): RankCase {
  const rng = mulberry32(seed);
  const n = opts.n;
  const dim = opts.dim ?? 32;
  const mixed = opts.shape === 'mixed';
  const catalogue = Math.max(3 * n, 10);
  const factors = makeItems(makeTopics(dim, 64, seed + 1), catalogue, seed + 2);
  const ids = Array.from({ length: catalogue }, (_, i) => `res-${seed}-${i}`);
  const contentDim = 16;
  const interestLabels = TOPICS.slice(0, 1 + Math.floor(rng() * 3));
  const interests = mixed && rng() < 0.7 ? interestLabels.map((label) => ({ label, vector: unit(rng, contentDim) })) : undefined;
  const completed = new Set<string>();
  const mastered = new Set<string>();
  for (let i = 0; i < catalogue; i++) {
    if (rng() < 0.08) completed.add(ids[i]);
    else if (mixed && rng() < 0.05) mastered.add(ids[i]);
  }
  const recent: NonNullable<LearnerContext['recent']>[number][] = [];
  const nRecent = n === 0 ? 0 : Math.min(10, 1 + Math.floor(rng() * 10));
  for (let r = 0; r < nRecent; r++) {
    const i = Math.floor(rng() * catalogue);
    recent.push({
      resourceId: ids[i],
      title: rng() < 0.8 ? `Title ${i}` : undefined,
      vector: mixed && rng() < 0.7 ? unit(rng, contentDim) : undefined,
    });
  }
  // tied collaborative scores and popularity in the mixed shape (coarse grids), continuous ones in the learner shape
  const grid = mixed && rng() < 0.6 ? 4 : 0;
  const candidates: RowCandidate[] = [];
  const rows = new Int32Array(n);
  for (let k = 0; k < n; k++)
    rows[k] = mixed && k > 0 && rng() < 0.05 ? rows[Math.floor(rng() * k)] : (k * 3 + Math.floor(rng() * 3)) % catalogue;
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    const count = rng() < 0.06 ? 0 : Math.floor(Math.exp(rng() * 6));
    let collab: number | undefined = gaussian(rng, 1.5);
    if (grid) collab = Math.round(collab * grid) / grid;
    if (mixed && rng() < 0.1) collab = undefined;
    const topic = pick(rng, TOPICS);
    const prereqs: string[] = [];
    if (rng() < 0.2) for (let p = 1 + Math.floor(rng() * 3); p > 0; p--) prereqs.push(ids[Math.floor(rng() * catalogue)]);
    // "next steps" after a recent resource, as the learner stage adds them
    if (recent.length > 0 && rng() < 0.05) prereqs.push(pick(rng, recent).resourceId);
    const c: RowCandidate = {
      row: i,
      resourceId: ids[i],
      collabScore: collab,
      popularity: mixed && rng() < 0.05 ? undefined : grid ? Math.floor(count / 50) : count,
      isNew: count === 0,
      type: mixed && rng() < 0.2 ? undefined : pick(rng, TYPES),
      topics: mixed && rng() < 0.2 ? undefined : [topic],
      skills: mixed && rng() < 0.3 ? undefined : [`skill-${topic}`, `skill-${i % 7}`],
      prerequisites: prereqs.length > 0 ? prereqs : undefined,
      title: mixed && rng() < 0.2 ? undefined : `Title ${i}`,
      interestMatch: interestLabels.includes(topic) ? { label: topic, cosine: 0.6 } : undefined,
    };
    if (mixed) {
      if (rng() < 0.6) c.content = unit(rng, contentDim);
      if (rng() < 0.3) c.similarity = unit(rng, 8);
      if (rng() < 0.1 && c.interestMatch) c.interestMatch = { label: c.interestMatch.label, cosine: Math.round(rng() * 8) / 8 };
    }
    candidates.push(c);
  }
  // P(success) per resource: unknown for ~30% (no skills or no quiz evidence), coarse in the mixed shape (ties)
  const success = new Map<string, number>();
  for (const c of candidates) if (rng() < 0.7) success.set(c.resourceId, mixed ? Math.round(rng() * 20) / 20 : 0.3 + 0.65 * rng());
  const predictSuccess: PredictSuccess | undefined = mixed && rng() < 0.2 ? undefined : (_u, resourceId) => success.get(resourceId);
  const learner: LearnerContext = { userId: `learner-${seed}`, completed, recent };
  if (mixed) {
    if (mastered.size > 0 && rng() < 0.7) learner.mastered = mastered;
    if (interests) learner.interests = interests;
  }
  // the learner stage views the live factor row in place (a subarray per call); zero/missing rows are inactive ones
  const zero = new Float32Array(dim);
  const inactive = new Set<number>();
  for (const c of candidates) if (rng() < (mixed ? 0.1 : 0.01)) inactive.add(c.row);
  const vectorMode = mixed ? Math.floor(rng() * 3) : 0;
  const similarity =
    vectorMode === 2
      ? undefined
      : (c: RowCandidate) =>
          inactive.has(c.row) ? (vectorMode === 1 ? zero : undefined) : factors.subarray(c.row * dim, (c.row + 1) * dim);
  let options: RankOptionsInput = { topN: 100, mmrHead: 20, reserveNew: 3 };
  if (mixed) {
    const topN = pick(rng, [1, 5, 20, 100]);
    options = {
      topN,
      mmrHead: pick(rng, [undefined, 1, 3, 20, 200]),
      reserveNew: pick(rng, [undefined, 0, 1, 3]),
      mmrLambda: pick(rng, [0, 0.5, 0.75, 1]),
      mmrPool: pick(rng, [1, 2, 5]),
      weights: rng() < 0.3 ? { difficulty: pick(rng, [-0.5, 0, 0.5, 2]) } : undefined,
    };
  }
  return { input: { candidates, learner, predictSuccess, similarity }, options };
}
