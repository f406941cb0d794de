/**
 * Re-ranks coalesced per fetched batch (#19 item 1): the learner stage learns every event of a batch in order, then
 * re-ranks each learner the batch touched once, many learners per scoring call, the batch's lists in one store call.
 * At the end of every batch each learner's list must be identical to what a re-rank after every event wrote after that
 * learner's last event. Distributed mode: ranking reads a replica of the item rows, which a batch's own events do not
 * change (their gradients go to the item stage), so both ways see the same global state; the clock stands still
 * within a batch (its records arrive together).
 */
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { MemoryServingStore } from '../../serving/memory-store';
import type { RecommendationList } from '../../serving/types';
import type { InteractionEvent, QuizEvent } from '../../consumers/event-types';
import type { ItemSink } from '../../pipelines/item/sink';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import { Reranker } from '../../pipelines/learner/rerank';
import { createCollabModel } from '../../pipelines/model/collab';
import type { ItemTable } from '../../pipelines/model/item-table';

jest.setTimeout(60_000);

const logger = createLogger({ level: 'error' });
const model = createCollabModel({ dim: 16, seed: 7 });
const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };
const T0 = 1_600_000_000_000;

/** 40 learners, 200 resources, each learner favouring a band; some completions and quizzes. */
type LearnerEvent = InteractionEvent | QuizEvent;

function stream(n: number, seed0: number): LearnerEvent[] {
  let seed = seed0;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, k): LearnerEvent => {
    const u = Math.floor(rnd() * 40);
    const r = (u * 5 + Math.floor(rnd() * 30)) % 200;
    const x = rnd();
    if (x < 0.1) {
      const q: QuizEvent = {
        kind: 'quiz',
        eventId: `q${seed0}-${k}`,
        userId: `u${u}`,
        itemId: `i${r}`,
        resourceId: `r${r}`,
        skills: [`s${r % 7}`],
        correct: rnd() < 0.6,
        occurredAt: T0 + k * 1000,
      };
      return q;
    }
    const ev: InteractionEvent = {
      kind: 'interaction',
      eventId: `e${seed0}-${k}`,
      userId: `u${u}`,
      resourceId: `r${r}`,
      type: x < 0.15 ? 'complete' : x < 0.7 ? 'click' : 'rate',
      value: 1 + Math.floor(rnd() * 5),
      occurredAt: T0 + k * 1000,
    };
    return ev;
  });
}

const sink: ItemSink = { backlog: 0, send: () => undefined, flush: () => Promise.resolve() };

function processor(events: LearnerEvent[], clock: () => number, opts: { replica?: ItemTable; rerankChunk?: number }) {
  const store = new MemoryServingStore({ now: clock });
  const p = new LearnerProcessor({
    decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
    model,
    store,
    emit: noopEmitter,
    logger,
    topics,
    tombstone: () => Promise.resolve(),
    topN: 20,
    historyLength: 50,
    rerankIntervalMs: 0,
    modelVersion: 'test',
    kernel: 'js',
    now: clock,
    manualReranks: true,
    ...(opts.rerankChunk !== undefined ? { tuning: { rerankChunk: opts.rerankChunk } } : {}),
    ...(opts.replica ? { sink, replica: opts.replica, maxReplicaLag: 0 } : {}),
  });
  p.restore(0, null);
  const apply = (k: number) => {
    const ev = events[k];
    const topic = ev.kind === 'quiz' ? 'q' : 'i';
    return p.apply(0, { topic, partition: 0, offset: String(k), key: null, value: Buffer.alloc(1), timestamp: T0 + k, headers: {} });
  };
  return { p, store, apply };
}

/** What a reader sees, without the write's wall-clock stamp. */
const served = (l: RecommendationList | null) => (l ? { ...l, generatedAt: 0 } : null);

describe('re-ranks batched per fetched batch', () => {
  // chunk 0: the whole scoring batch ranked in one block; 3 and the default (16): ranked and written chunk by chunk
  it.each([0, 3, undefined])(
    "every learner's list at a batch end equals the per-event list after their last event (chunk %s)",
    async (rerankChunk) => {
      // a replica with trained rows and transitions: a synchronous stage over a first stream owns and trains the table
      let clock = T0;
      const warmEvents = stream(1000, 99);
      const warm = processor(warmEvents, () => clock, {});
      for (let k = 0; k < warmEvents.length; k++) await warm.apply(k);
      const replica = warm.p.items();

      const events = stream(700, 4242);
      const perEvent = processor(events, () => clock, { replica });
      const batched = processor(events, () => clock, { replica, rerankChunk });
      let rnd = 7;
      let k = 0;
      let batches = 0;
      let repeats = 0;
      while (k < events.length) {
        // batch sizes 1..80: live (one event per learner) and backlog (many events of one learner) batches
        rnd = (rnd * 48271) % 2147483647;
        const size = Math.min(events.length - k, 1 + (rnd % 80));
        clock += 5000;
        const touched = new Set<string>();
        for (let j = k; j < k + size; j++) {
          const u = events[j].userId;
          if (touched.has(u)) repeats++;
          touched.add(u);
          await perEvent.apply(j);
          await perEvent.p.reranker.runDue();
          await batched.apply(j);
        }
        batched.p.afterBatch();
        await batched.p.reranker.runDue();
        k += size;
        batches++;
        for (const u of touched) {
          const a = served(await perEvent.store.getRecommendations(u));
          const b = served(await batched.store.getRecommendations(u));
          expect(a).not.toBeNull();
          expect(b).toEqual(a);
        }
      }
      expect(batches).toBeGreaterThan(12);
      expect(repeats).toBeGreaterThan(100); // batches with several events of one learner were exercised
      await Promise.all([warm.p.stop(), perEvent.p.stop(), batched.p.stop()]);
    },
  );

  it('a learner held by a batch is re-ranked once at its end, not once per event', async () => {
    let clock = T0;
    const events = stream(400, 5);
    const per = processor(events, () => clock, {});
    const bat = processor(events, () => clock, {});
    let perBuilds = 0;
    let batBuilds = 0;
    const count = (x: { p: LearnerProcessor }, inc: () => void) => {
      const orig = x.p.reranker['o'].buildChunks!;
      x.p.reranker['o'].buildChunks = (users: string[]) => {
        for (let i = 0; i < users.length; i++) inc();
        return orig(users);
      };
    };
    count(per, () => perBuilds++);
    count(bat, () => batBuilds++);
    for (let k = 0; k < events.length; k += 100) {
      clock += 1000;
      const touched = new Set<string>();
      for (let j = k; j < k + 100; j++) {
        touched.add(events[j].userId);
        await per.apply(j);
        await per.p.reranker.runDue();
        await bat.apply(j);
      }
      const before = batBuilds;
      bat.p.afterBatch();
      await bat.p.reranker.runDue();
      expect(batBuilds - before).toBe(touched.size);
    }
    expect(perBuilds).toBe(400);
    expect(batBuilds).toBeLessThan(200);
    await Promise.all([per.p.stop(), bat.p.stop()]);
  });

  it('under lag a batch end holds its learners for later batches (one re-rank for many), caught up it releases them', async () => {
    const events = stream(60, 11);
    const store = new MemoryServingStore();
    const p = new LearnerProcessor({
      decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
      model,
      store,
      emit: noopEmitter,
      logger,
      topics,
      tombstone: () => Promise.resolve(),
      topN: 10,
      historyLength: 50,
      rerankIntervalMs: 0,
      modelVersion: 'test',
      kernel: 'js',
    });
    p.restore(0, null);
    const feed = async (from: number, to: number) => {
      for (let k = from; k < to; k++)
        await p.apply(0, {
          topic: events[k].kind === 'quiz' ? 'q' : 'i',
          partition: 0,
          offset: String(k),
          key: null,
          value: Buffer.alloc(1),
          timestamp: T0 + k,
          headers: {},
        });
    };
    await feed(0, 30);
    p.afterBatch(0, 50_000); // 50k records still waiting: a backlog
    await new Promise((r) => setTimeout(r, 1300));
    expect(await store.getRecommendations(events[0].userId)).toBeNull(); // held past the 1 s bound of a batch in progress
    await feed(30, 60);
    p.afterBatch(0, 0); // caught up: released at once
    await p.reranker.drain();
    for (const e of events) expect(await store.getRecommendations(e.userId)).not.toBeNull();
    await p.stop();
  });

  it("a batch's lists are written chunk by chunk: the first chunk is acknowledged before the last is built", async () => {
    const store = new MemoryServingStore();
    const list = (userId: string): RecommendationList => ({ userId, items: [], modelVersion: 'x', generatedAt: 0, source: 'personal' });
    const seen: (RecommendationList | null)[] = [];
    const r = new Reranker({
      store,
      // three chunks of two; before building each later chunk, look at what the store already holds
      buildChunks: async function* (users) {
        for (let i = 0; i < users.length; i += 2) {
          if (i > 0) {
            await new Promise<void>((res) => setImmediate(res));
            seen.push(await store.getRecommendations(users[i - 2]));
          }
          yield users.slice(i, i + 2).map(list);
        }
      },
      emit: noopEmitter,
      logger,
      intervalMs: 0,
      manual: true,
    });
    for (const u of ['a', 'b', 'c', 'd', 'e', 'f']) r.request(u);
    await r.runDue();
    expect(seen.map((l) => l?.userId)).toEqual(['a', 'c']);
    for (const u of ['a', 'b', 'c', 'd', 'e', 'f']) expect((await store.getRecommendations(u))?.userId).toBe(u);
    expect(r.pending).toBe(0);
    await r.stop();
  });

  it('a chunk that fails to build is retried with the learners after it; the chunks before it stay written', async () => {
    const store = new MemoryServingStore();
    let fail = true;
    const r = new Reranker({
      store,
      buildChunks: async function* (users) {
        for (let i = 0; i < users.length; i += 2) {
          await Promise.resolve();
          if (i >= 2 && fail) {
            fail = false;
            throw new Error('scoring failed');
          }
          yield users
            .slice(i, i + 2)
            .map((userId): RecommendationList => ({ userId, items: [], modelVersion: 'x', generatedAt: 0, source: 'personal' }));
        }
      },
      emit: noopEmitter,
      logger,
      intervalMs: 0,
      manual: true,
    });
    for (const u of ['a', 'b', 'c', 'd']) r.request(u);
    await r.runDue();
    expect(await store.getRecommendations('a')).not.toBeNull();
    expect(await store.getRecommendations('c')).toBeNull();
    expect(r.pending).toBe(2); // c and d due again (in 500 ms)
    await r.drain();
    expect(await store.getRecommendations('d')).not.toBeNull();
    await r.stop();
  });
});
