import { normalizeInPlace } from '../../../../models/content/vector';
import { rank, resolveRankOptions } from '../../../../models/ranking/rank';
import { computeFeatures, difficultyFit, percentiles } from '../../../../models/ranking/features';
import { mmrSelect } from '../../../../models/ranking/mmr';
import { preselect } from '../../../../models/ranking/candidates';
import { mulberry32 } from '../../../../models/random/prng';
import type { Candidate, LearnerContext } from '../../../../models/ranking/types';

/** Unit vector along axis `a` (mixed with axis `b` by `mix`), 8 dims: enough to express "same topic" or not. */
function vec(a: number, b = a, mix = 0): Float32Array {
  const v = new Float32Array(8);
  v[a] += 1 - mix;
  v[b] += mix;
  return normalizeInPlace(v);
}

const learner = (over: Partial<LearnerContext> = {}): LearnerContext => ({ userId: 'u1', completed: new Set(), ...over });

describe('rank', () => {
  it('never recommends completed resources and de-duplicates candidates', () => {
    const cands: Candidate[] = [
      { resourceId: 'a', collabScore: 3 },
      { resourceId: 'b', collabScore: 2 },
      { resourceId: 'a', collabScore: 3 },
      { resourceId: 'c', collabScore: 1 },
    ];
    const { items } = rank({ candidates: cands, learner: learner({ completed: new Set(['a']) }) }, { topN: 10 });
    expect(items.map((i) => i.resourceId)).toEqual(['b', 'c']);
  });

  it('excludesCompleted / uniqueIds skip only the checks: the same list where the candidates hold no completed or duplicate id', () => {
    const cands: Candidate[] = [
      { resourceId: 'calc2', collabScore: 5, prerequisites: ['calc1'], title: 'Calculus II' },
      { resourceId: 'stats', collabScore: 4 },
      { resourceId: 'linalg2', collabScore: 3, prerequisites: ['linalg1'] },
      { resourceId: 'poetry', collabScore: 1 },
    ];
    for (const completed of [new Set<string>(), new Set(['calc1'])]) {
      const checked = rank({ candidates: cands, learner: learner({ completed }) }, { topN: 10 });
      const trusted = rank({ candidates: cands, learner: learner({ completed }), uniqueIds: true, excludesCompleted: true }, { topN: 10 });
      expect(JSON.stringify(trusted)).toBe(JSON.stringify(checked));
    }
    // the completed set still satisfies prerequisites: calc2 is "next after" calc1 only when calc1 is completed
    const after = rank({ candidates: cands, learner: learner({ completed: new Set(['calc1']) }), excludesCompleted: true }, { topN: 10 });
    expect(after.items[0].resourceId).toBe('calc2');
    expect(after.items[0].reasons.map((r) => r.code)).toContain('next-after');
  });

  it('demotes resources whose prerequisites are unmet, and says "next after" when they are met', () => {
    const cands: Candidate[] = [
      { resourceId: 'calc2', collabScore: 5, prerequisites: ['calc1'], title: 'Calculus II' },
      { resourceId: 'stats', collabScore: 4 },
      { resourceId: 'linalg2', collabScore: 3, prerequisites: ['linalg1'] },
    ];
    const ctx = learner({ completed: new Set(['linalg1']), recent: [{ resourceId: 'linalg1', title: 'Linear Algebra I' }] });
    const { items } = rank({ candidates: cands, learner: ctx }, { mmrLambda: 1 });
    const order = items.map((i) => i.resourceId);
    expect(order.indexOf('calc2')).toBeGreaterThan(order.indexOf('stats'));
    expect(order.indexOf('calc2')).toBeGreaterThan(order.indexOf('linalg2'));
    expect(items.find((i) => i.resourceId === 'linalg2')!.reasons[0]).toEqual({
      code: 'next-after',
      text: 'Next after Linear Algebra I',
      ref: 'linalg1',
    });
    // mastered (e.g. by quizzes) satisfies a prerequisite as well as completed
    const mastered = rank({ candidates: cands, learner: learner({ mastered: new Set(['calc1']) }) }, { mmrLambda: 1 });
    expect(mastered.items[0].resourceId).toBe('calc2');
  });

  it('prefers the difficulty closest to the target success and says "right level for skill"', () => {
    const p: Record<string, number> = { easy: 0.98, right: 0.74, hard: 0.3 };
    const cands: Candidate[] = ['easy', 'right', 'hard'].map((id) => ({ resourceId: id, collabScore: 1, skills: ['fractions'] }));
    const { items, features } = rank({ candidates: cands, learner: learner(), predictSuccess: (_u, r) => p[r] }, { targetSuccess: 0.75 });
    expect(items[0].resourceId).toBe('right');
    expect(items[0].reasons.map((r) => r.code)).toContain('right-level');
    expect(items[0].reasons.find((r) => r.code === 'right-level')).toMatchObject({ ref: 'fractions' });
    expect(features[0].success).toBe(0.74);
    // a different target moves the choice
    expect(
      rank({ candidates: cands, learner: learner(), predictSuccess: (_u, r) => p[r] }, { targetSuccess: 0.95 }).items[0].resourceId,
    ).toBe('easy');
  });

  it('matches interests by content and names the interest', () => {
    const cands: Candidate[] = [
      { resourceId: 'py', content: vec(0), collabScore: 1 },
      { resourceId: 'art', content: vec(3), collabScore: 1 },
    ];
    const ctx = learner({ interests: [{ label: 'python programming', vector: vec(0, 1, 0.1) }] });
    const { items } = rank({ candidates: cands, learner: ctx });
    expect(items[0].resourceId).toBe('py');
    expect(items[0].reasons[0]).toMatchObject({ code: 'matches-interest', ref: 'python programming' });
  });

  it('MMR diversifies: near-duplicates of the top item give way to another topic', () => {
    // five near-identical Python courses slightly ahead of two history courses
    const cands: Candidate[] = [
      ...[0, 1, 2, 3, 4].map((i) => ({ resourceId: `py${i}`, content: vec(0, 1, 0.01 * i), collabScore: 10 - i })),
      { resourceId: 'hist0', content: vec(5), collabScore: 4 },
      { resourceId: 'hist1', content: vec(5, 6, 0.05), collabScore: 3 },
    ];
    const plain = rank({ candidates: cands, learner: learner() }, { topN: 3, mmrLambda: 1 }).items.map((i) => i.resourceId);
    const diverse = rank({ candidates: cands, learner: learner() }, { topN: 3, mmrLambda: 0.5 }).items.map((i) => i.resourceId);
    expect(plain).toEqual(['py0', 'py1', 'py2']);
    expect(diverse[0]).toBe('py0');
    expect(diverse).toContain('hist0');
  });

  it('gives every item at least one reason, including new and popular resources', () => {
    const cands: Candidate[] = [
      { resourceId: 'fresh', isNew: true, collabScore: 0.5 },
      { resourceId: 'hit', popularity: 1000, collabScore: 0.1 },
      { resourceId: 'liked', collabScore: 9 },
      { resourceId: 'plain', collabScore: 0.2, popularity: 2 },
    ];
    const { items } = rank({ candidates: cands, learner: learner() }, { topN: 10 });
    expect(items).toHaveLength(4);
    for (const it of items) expect(it.reasons.length).toBeGreaterThan(0);
    const codes = Object.fromEntries(items.map((i) => [i.resourceId, i.reasons.map((r) => r.code)]));
    expect(codes.fresh).toContain('new-resource');
    expect(codes.hit).toContain('popular');
    expect(codes.liked).toContain('similar-learners');
  });

  it('is deterministic and independent of candidate order', () => {
    const cands: Candidate[] = Array.from({ length: 50 }, (_, i) => ({
      resourceId: `r${i}`,
      collabScore: i % 7,
      content: vec(i % 8, (i + 1) % 8, 0.3),
      popularity: i % 5,
    }));
    const a = rank({ candidates: cands, learner: learner() }, { topN: 10 });
    const b = rank({ candidates: [...cands].reverse(), learner: learner() }, { topN: 10 });
    expect(b.items).toEqual(a.items);
  });
});

describe('rank for a long cached list', () => {
  it('diversifies only the head (mmrHead) and fills the rest by relevance, with similarity vectors', () => {
    const cands: Candidate[] = [
      ...[0, 1, 2, 3, 4].map((i) => ({ resourceId: `py${i}`, similarity: vec(0, 1, 0.01 * i), collabScore: 10 - i })),
      { resourceId: 'hist0', similarity: vec(5), collabScore: 4 },
      { resourceId: 'hist1', similarity: vec(5, 6, 0.05), collabScore: 3 },
    ];
    const ids = rank({ candidates: cands, learner: learner() }, { topN: 6, mmrHead: 2, mmrLambda: 0.5 }).items.map((i) => i.resourceId);
    expect(ids.slice(0, 2)).toEqual(['py0', 'hist0']);
    // the tail: everything else in relevance order
    expect(ids.slice(2)).toEqual(['py1', 'py2', 'py3', 'py4']);
  });

  it('counts a vector-free interest match (catalogue topic = declared interest) and names it', () => {
    const cands: Candidate[] = [
      { resourceId: 'algebra1', collabScore: 1, interestMatch: { label: 'algebra', cosine: 0.6 } },
      { resourceId: 'music1', collabScore: 1 },
    ];
    const { items } = rank({ candidates: cands, learner: learner() }, { topN: 2 });
    expect(items[0].resourceId).toBe('algebra1');
    expect(items[0].reasons[0]).toMatchObject({ code: 'matches-interest', ref: 'algebra' });
  });
});

describe('rank over a large pool', () => {
  // a pool like the learner stage's: many more candidates than list places, P(success) for most of them
  const rng = mulberry32(5);
  const cands: Candidate[] = Array.from({ length: 300 }, (_, i) => ({
    resourceId: `r${i}`,
    // new resources: no events, the least liked; they reach the list only by exploration
    collabScore: i % 40 === 0 ? -1 : rng() * 4,
    popularity: i % 40 === 0 ? 0 : Math.floor(rng() * 50),
    skills: ['s'],
    isNew: i % 40 === 0,
    ...(i % 40 === 0 ? { interestMatch: { label: 'algebra', cosine: 0.6 } } : {}),
    ...(i % 9 === 0 ? { prerequisites: [`r${i + 1}`] } : {}),
  }));
  const success = new Map(cands.map((c) => [c.resourceId, rng()]));

  it('asks P(success) only for candidates that can reach the list, with the list of the exhaustive computation', () => {
    const asked = new Set<string>();
    const predictSuccess = (_u: string, r: string) => {
      asked.add(r);
      return success.get(r);
    };
    const options = { topN: 20, mmrLambda: 1, reserveNew: 2 };
    const { items } = rank({ candidates: cands, learner: learner(), predictSuccess }, options);
    expect(asked.size).toBeLessThan(cands.length);
    // every exploration candidate is scored exactly: they are ordered among themselves
    for (let i = 0; i < cands.length; i += 40) expect(asked.has(`r${i}`)).toBe(true);
    // reference: every feature of every candidate; the 20 best by relevance, the last of them making room for the best
    // new interest matches until 2 are listed
    const all = computeFeatures(cands, learner(), (_u, r) => success.get(r), resolveRankOptions(options));
    const byRelevance = cands
      .map((_, i) => i)
      .sort((a, b) => all[b].relevance - all[a].relevance || (cands[a].resourceId < cands[b].resourceId ? -1 : 1));
    const top = byRelevance.slice(0, 20);
    const listedNew = top.filter((i) => cands[i].isNew).length;
    const extra = byRelevance
      .slice(20)
      .filter((i) => cands[i].isNew)
      .slice(0, Math.max(0, 2 - listedNew));
    expect(extra.length).toBeGreaterThan(0); // the case under test: exploration reaches below the scored top
    const kept = top.filter((i) => !cands[i].isNew).slice(0, 20 - listedNew - extra.length);
    const expected = top.filter((i) => cands[i].isNew || kept.includes(i)).concat(extra);
    expect(items.map((i) => i.resourceId)).toEqual(expected.map((i) => cands[i].resourceId));
    for (const it of items) expect(it.score).toBeCloseTo(all[Number(it.resourceId.slice(1))].relevance, 6);
  });

  it('MMR compares by cosine: scaling a vector changes nothing', () => {
    const unit = cands.map((_, i) => vec(i % 8, (i + 3) % 8, 0.2));
    const scaled = unit.map((v, i) => v.map((x) => x * (1 + (i % 5))));
    const a = rank({ candidates: cands, learner: learner(), similarity: (c) => unit[Number(c.resourceId.slice(1))] }, { topN: 20 });
    const b = rank({ candidates: cands, learner: learner(), similarity: (c) => scaled[Number(c.resourceId.slice(1))] }, { topN: 20 });
    expect(b.items).toEqual(a.items);
    // and MMR did diversify: pure relevance order is a different list
    expect(rank({ candidates: cands, learner: learner() }, { topN: 20, mmrLambda: 1 }).items.map((i) => i.resourceId)).not.toEqual(
      a.items.map((i) => i.resourceId),
    );
  });
});

describe('reserveNew', () => {
  it('keeps a new interest-matched resource in the list even when its relevance would not make it', () => {
    const cands: Candidate[] = [
      ...[0, 1, 2, 3].map((i) => ({
        resourceId: `alg${i}`,
        collabScore: 10 - i,
        popularity: 50,
        interestMatch: { label: 'algebra', cosine: 0.6 },
      })),
      { resourceId: 'new-alg', collabScore: -5, isNew: true, interestMatch: { label: 'algebra', cosine: 0.6 } },
      { resourceId: 'new-music', collabScore: -5, isNew: true },
    ];
    const plain = rank({ candidates: cands, learner: learner() }, { topN: 3 }).items.map((i) => i.resourceId);
    expect(plain).not.toContain('new-alg');
    const explored = rank({ candidates: cands, learner: learner() }, { topN: 3, reserveNew: 1 }).items;
    expect(explored.map((i) => i.resourceId)).toEqual(['alg0', 'alg1', 'new-alg']);
    expect(explored[2].reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['matches-interest', 'new-resource']));
  });
});

describe('ranking helpers', () => {
  it('percentiles share ties and skip undefined', () => {
    expect(percentiles([3, undefined, 1, 3, 2])).toEqual([5 / 6, undefined, 0, 5 / 6, 1 / 3]);
    expect(percentiles([7])).toEqual([1]);
  });
  it('difficulty fit peaks at the target', () => {
    expect(difficultyFit(0.75, 0.75, 0.15)).toBe(1);
    expect(difficultyFit(0.6, 0.75, 0.15)).toBeCloseTo(Math.exp(-0.5), 6);
    expect(difficultyFit(0.9, 0.75, 0.15)).toBeGreaterThan(difficultyFit(0.3, 0.75, 0.15));
  });
  it('mmrSelect with lambda 1 is plain relevance order', () => {
    expect(mmrSelect([0.1, 0.9, 0.5], [undefined, undefined, undefined], 3, 1)).toEqual([1, 2, 0]);
  });
});

describe('preselect', () => {
  it('takes the top k by score, never excluded ones, plus the extras', () => {
    const scores = Float64Array.from([5, 9, 1, 7, 3, 8]);
    expect(preselect(scores, 6, 2, [1], [2, 3, 1])).toEqual([5, 3, 2]);
  });
});
