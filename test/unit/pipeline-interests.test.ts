/**
 * Declared interests matched by content in the learner stage: interest strings are embedded once (cached, batched
 * across the profiles of one tick), their cosines to the catalogue's content vectors follow the catalogue slot by
 * slot, and a learner with no event gets a list ranked by content similarity to their interests, with the interest
 * named, whatever the collaborative scores and catalogue topics say. Without an encoder, interests match by topic.
 */
import { createLogger } from '../../lib/log';
import { createInstrumentation, noopEmitter } from '../../lib/metrics/instrumentation';
import { MemoryServingStore } from '../../serving/memory-store';
import type { PipelineEvent } from '../../consumers/event-types';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import { encodeItemUpdate } from '../../pipelines/messages';
import { createCollabModel } from '../../pipelines/model/collab';
import type { InputRecord } from '../../consumers/runner/stage-runner';
import { normalizeInPlace } from '../../models/content/vector';
import { decodeContentVector, encodeContentVector } from '../../pipelines/content-messages';
import { CandidateGenerator } from '../../pipelines/learner/candidates';
import { InterestIndex, interestKey } from '../../pipelines/learner/interests';
import { LearnerRanker } from '../../pipelines/learner/rank';
import type { Learner } from '../../pipelines/learner/state';
import { ContentTable } from '../../pipelines/model/content-table';
import { ItemTable } from '../../pipelines/model/item-table';

const logger = createLogger({ level: 'error' });
const unit = (...xs: number[]) => normalizeInPlace(Float32Array.from(xs));

/** A stand-in encoder over 4 "concepts": ML, history, cooking, music. Counts its calls. */
function fakeEncoder() {
  const space: Record<string, Float32Array> = {
    'machine learning': unit(1, 0, 0, 0),
    'french history': unit(0, 1, 0, 0),
    baking: unit(0, 0, 1, 0),
  };
  const calls: string[][] = [];
  const embed = (texts: readonly string[]) => {
    calls.push([...texts]);
    return Promise.resolve(texts.map((t) => space[t] ?? unit(0, 0, 0, 1)));
  };
  return { embed, calls };
}

describe('content vectors on model.content-vectors', () => {
  it('round-trip bit for bit, and a ContentTable keeps stable slots across removal and re-upsert', () => {
    const v = unit(0.1, -0.2, 0.3, 0.4);
    expect(Array.from(decodeContentVector(encodeContentVector(v)))).toEqual(Array.from(v));
    const t = new ContentTable();
    expect(t.set('a', v)).toBe(0);
    expect(t.set('b', unit(1, 0, 0, 0))).toBe(1);
    expect(t.set('bad', Float32Array.of(1, 2))).toBe(-1); // other dimension: refused
    expect(t.remove('a')).toBe(0);
    expect(t.vector('a')).toBeUndefined();
    expect(t.set('a', unit(0, 1, 0, 0))).toBe(0);
    expect(Array.from(t.vector('a')!)).toEqual([0, 1, 0, 0]);
    for (let i = 0; i < 600; i++) t.set(`x${i}`, unit(0, 0, 1, 0)); // grows past the initial capacity
    expect(Array.from(t.vector('b')!)).toEqual([1, 0, 0, 0]);
  });
});

describe('InterestIndex', () => {
  it('embeds each interest string once, batched across callers of one tick, case-insensitively', async () => {
    const enc = fakeEncoder();
    const ix = new InterestIndex({ embed: enc.embed, content: new ContentTable(), logger, emit: noopEmitter });
    const [a, b] = await Promise.all([ix.ensure(['Machine Learning', 'baking']), ix.ensure(['machine  learning', 'French history'])]);
    expect(a && b).toBe(true);
    expect(enc.calls).toEqual([['machine learning', 'baking', 'french history']]);
    expect(await ix.ensure(['BAKING'])).toBe(true);
    expect(enc.calls).toHaveLength(1);
    expect(interestKey('  Machine   Learning ')).toBe('machine learning');
  });

  it('keeps cosines to every catalogue slot exact as vectors arrive and leave; nearest and matching follow', async () => {
    const enc = fakeEncoder();
    const content = new ContentTable();
    let now = 0;
    const ix = new InterestIndex({ embed: enc.embed, content, logger, emit: noopEmitter, refreshMs: 1000, now: () => now });
    content.set('ml-intro', unit(0.9, 0.1, 0, 0.1));
    content.set('bread', unit(0, 0, 1, 0));
    await ix.ensure(['machine learning']);
    expect(ix.cosines('machine learning')![0]).toBeCloseTo(0.988, 3);
    expect(Array.from(ix.nearest('machine learning', 2)!)).toEqual([0, 1]);

    const s = content.set('deep-learning', unit(1, 0, 0, 0));
    ix.contentChanged(s);
    expect(ix.matching(s, 0.35)).toEqual(new Set(['machine learning']));
    now += 1000;
    expect(Array.from(ix.nearest('machine learning', 2)!)).toEqual([2, 0]);
    const gone = content.remove('deep-learning');
    ix.contentChanged(gone);
    expect(ix.cosines('machine learning')![gone]).toBe(-Infinity);
    now += 1000;
    expect(Array.from(ix.nearest('machine learning', 3)!)).toEqual([0, 1]);
  });

  it('degrades without an encoder or when embedding fails: false, logged, not retried at once, never a rejection', async () => {
    const none = new InterestIndex({ content: new ContentTable(), logger, emit: noopEmitter });
    expect(none.enabled).toBe(false);
    expect(await none.ensure(['machine learning'])).toBe(false);
    let calls = 0;
    const failing = new InterestIndex({
      embed: () => (calls++, Promise.reject(new Error('onnx session gone'))),
      content: new ContentTable(),
      logger,
      emit: noopEmitter,
    });
    expect(await failing.ensure(['machine learning'])).toBe(false);
    expect(await failing.ensure(['machine learning'])).toBe(false);
    expect(calls).toBe(1);
    expect(failing.cosines('machine learning')).toBeUndefined();
  });
});

describe('LearnerRanker with embedded interests', () => {
  const dim = 4;
  /** A catalogue whose topics never equal the interest string; only the text (content vector) says what it is about. */
  function catalogue() {
    const table = new ItemTable(dim);
    const content = new ContentTable();
    const rows: [string, string, Float32Array, number][] = [
      ['neural-nets', 'computer-science', unit(0.95, 0.05, 0, 0.1), 0],
      ['regression', 'statistics', unit(0.8, 0, 0.1, 0.3), 0],
      ['napoleon', 'history', unit(0, 1, 0, 0), 0],
      ['sourdough', 'cooking', unit(0, 0, 1, 0), 0],
      // the collaborative favourite: a large bias and a factor aligned with anything
      ['pop-music', 'music', unit(0, 0, 0, 1), 5],
    ];
    for (const [id, topic, v, bias] of rows) {
      table.set({
        itemId: id,
        factors: Float32Array.of(0.5, 0.5, 0.5, 0.5),
        bias,
        count: 0,
        lastT: Number.NaN,
        active: true,
        meta: { type: 'course', topics: [topic], title: id },
      });
      content.set(id, v);
    }
    for (let i = 0; i < 40; i++) {
      table.set({
        itemId: `filler-${i}`,
        factors: Float32Array.of(0.1, 0.1, 0.1, 0.1),
        bias: 1,
        count: 3,
        lastT: 0,
        active: true,
        meta: { type: 'video', topics: ['misc'] },
      });
      content.set(`filler-${i}`, unit(0, 0.3, 0.3, 1));
    }
    return { table, content };
  }
  const cold = (interests: string[]): Learner => ({
    cf: { vector: new Float32Array(dim), bias: 0, count: 0, lastT: Number.NaN },
    interactions: 0,
    quizzes: 0,
    history: [],
    interests,
    completed: [],
    lastEventAt: 1,
  });

  it('a cold learner gets resources ranked by content similarity to the interest, with the interest named', async () => {
    const { table, content } = catalogue();
    const ix = new InterestIndex({ embed: fakeEncoder().embed, content, logger, emit: noopEmitter });
    await ix.ensure(['Machine learning']);
    const ranker = new LearnerRanker({ topN: 5, candidateFactor: 1 }, ix);
    const l = cold(['Machine learning']);
    const gen = new CandidateGenerator({ dim, logger, kernel: 'js' });
    const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
    // the collaborative pool (5 by bias) holds no ML resource: they come from the interest-similarity source
    expect(Array.from(top.indices).map((i) => table.ids[i])).not.toContain('neural-nets');
    const items = ranker.rank('u', l, table, undefined, top, 0);
    expect(items.slice(0, 2).map((i) => i.resourceId)).toEqual(['neural-nets', 'regression']);
    expect(items[0].reasons[0]).toMatchObject({ code: 'matches-interest', ref: 'Machine learning' });
    expect(items.findIndex((i) => i.resourceId === 'pop-music')).not.toBe(0);
  });

  it('without an embedded interest the same learner falls back to topic matching (nothing matches "Machine learning")', () => {
    const { table } = catalogue();
    const ranker = new LearnerRanker({ topN: 5, candidateFactor: 1 });
    const l = cold(['Machine learning']);
    const gen = new CandidateGenerator({ dim, logger, kernel: 'js' });
    const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
    const items = ranker.rank('u', l, table, undefined, top, 0);
    expect(items.some((i) => i.reasons.some((r) => r.code === 'matches-interest'))).toBe(false);
  });
});

describe('LearnerProcessor: a profile event', () => {
  const dim = 4;
  const CATALOGUE: [string, string, Float32Array][] = [
    ['neural-nets', 'computer-science', unit(0.95, 0.05, 0, 0.1)],
    ['napoleon', 'history', unit(0, 1, 0, 0)],
    ['sourdough', 'cooking', unit(0, 0, 1, 0)],
    ['pop-music', 'music', unit(0, 0, 0, 1)],
  ];

  async function run(embed: ((t: readonly string[]) => Promise<Float32Array[]>) | undefined) {
    const instr = createInstrumentation();
    const matched: string[] = [];
    instr.on('interests.matched', (e) => matched.push(e.method));
    const content = new ContentTable();
    const ix = new InterestIndex({ embed, content, logger, emit: instr });
    const store = new MemoryServingStore();
    const profileEvent: PipelineEvent = { kind: 'profile', userId: 'newbie', interests: ['Machine learning'] };
    const p = new LearnerProcessor({
      decode: () => Promise.resolve(profileEvent),
      model: createCollabModel({ dim, seed: 3 }),
      store,
      emit: instr,
      logger,
      topics: { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' },
      tombstone: () => Promise.resolve(),
      topN: 3,
      historyLength: 10,
      rerankIntervalMs: 0,
      modelVersion: 'test',
      kernel: 'js',
      interests: ix,
    });
    p.restore(0, null);
    const rec = (topic: string, offset: number, value: Buffer): InputRecord => ({
      topic,
      partition: 0,
      offset: String(offset),
      key: null,
      value,
      timestamp: 1000 + offset,
      headers: {},
    });
    for (const [k, [id, topic, v]] of CATALOGUE.entries()) {
      // the collaborative favourite is the music resource: a fresh learner's score is only the item bias
      await p.apply(
        0,
        rec(
          'u',
          k,
          encodeItemUpdate({
            kind: 'upsert',
            itemId: id,
            f: new Float32Array(dim),
            b: id === 'pop-music' ? 3 : 0,
            active: true,
            meta: { topics: [topic], title: id },
          }),
        ),
      );
      p.contentChanged(id, content.set(id, v), true);
    }
    await p.apply(0, rec('p', 0, Buffer.alloc(1)));
    const list = await (async () => {
      for (let i = 0; i < 200; i++) {
        const l = await store.getRecommendations('newbie');
        if (l) return l;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('no list written');
    })();
    await p.stop();
    return { list, matched };
  }

  it('with the encoder: embedded, the list ranked by content similarity to the interest, the interest named, counted as content', async () => {
    const { list, matched } = await run(fakeEncoder().embed);
    expect(list.source).toBe('cold-start:interests');
    expect(list.items[0]).toMatchObject({
      resourceId: 'neural-nets',
      reasons: [expect.objectContaining({ code: 'matches-interest', ref: 'Machine learning' }), expect.anything()],
    });
    expect(matched).toEqual(['content']);
  });

  it('without an encoder: still a list (topic matching, nothing matches here), counted as topic, never a crash', async () => {
    const { list, matched } = await run(undefined);
    expect(list.source).toBe('cold-start:interests');
    expect(list.items.length).toBe(3);
    expect(list.items.some((i) => i.reasons.some((r) => r.code === 'matches-interest'))).toBe(false);
    expect(matched).toEqual(['topic']);
  });
});
