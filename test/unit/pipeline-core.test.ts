/**
 * The pipeline's per-event core without services: snapshot + replay reproduces an uninterrupted run exactly, the item
 * owner never applies a replayed gradient twice, re-ranks are coalesced, checkpoints survive a round trip.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { MemoryServingStore } from '../../serving/memory-store';
import type { InteractionEvent, PipelineEvent } from '../../consumers/event-types';
import { ItemProcessor } from '../../pipelines/item/processor';
import type { ItemSink, RecordSink } from '../../pipelines/item/sink';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import { Reranker } from '../../pipelines/learner/rerank';
import {
  applyItemSignals,
  decodeItemRow,
  decodeItemSignals,
  encodeItemUpdate,
  encodeUpdateBatch,
  signalsKeyItem,
} from '../../pipelines/messages';
import { createCollabModel } from '../../pipelines/model/collab';
import { ItemTable } from '../../pipelines/model/item-table';
import type { InputRecord } from '../../consumers/runner/stage-runner';
import { FileCheckpointStore } from '../../consumers/state/checkpoint';

// a few thousand events, each learned and re-ranked: seconds of CPU, more on a loaded machine
jest.setTimeout(60_000);

const logger = createLogger({ level: 'error' });
const model = createCollabModel({ dim: 16, seed: 7 });
const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };

/** A synthetic but structured stream: 60 learners, 300 resources, each learner favouring a band of resources. */
function stream(n: number): InteractionEvent[] {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, k) => {
    const u = Math.floor(rnd() * 60);
    const r = (u * 5 + Math.floor(rnd() * 40)) % 300;
    return {
      kind: 'interaction',
      eventId: `e${k}`,
      userId: `u${u}`,
      resourceId: `r${r}`,
      type: rnd() < 0.7 ? 'click' : 'rate',
      value: 1 + Math.floor(rnd() * 5),
      occurredAt: 1_600_000_000_000 + k * 60_000,
    };
  });
}

function learner(events: PipelineEvent[]): { p: LearnerProcessor; feed: (from: number, to: number) => Promise<void> } {
  const p = new LearnerProcessor({
    decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
    model,
    store: new MemoryServingStore(),
    emit: noopEmitter,
    logger,
    topics,
    tombstone: () => Promise.resolve(),
    topN: 10,
    historyLength: 50,
    rerankIntervalMs: 1000,
    modelVersion: 'test',
  });
  const feed = async (from: number, to: number) => {
    for (let k = from; k < to; k++) {
      const rec: InputRecord = {
        topic: 'i',
        partition: 0,
        offset: String(k),
        key: null,
        value: Buffer.alloc(1),
        timestamp: 1000 + k,
        headers: {},
      };
      await p.apply(0, rec);
    }
  };
  return { p, feed };
}

describe('pipeline core', () => {
  it('restoring a mid-stream snapshot and replaying the rest gives exactly the uninterrupted state', async () => {
    const events = stream(3000);
    const a = learner(events);
    a.p.restore(0, null);
    await a.feed(0, 1200);
    const snapshot = JSON.parse(JSON.stringify(a.p.snapshot(0)));
    await a.feed(1200, 3000);

    const b = learner(events);
    b.p.restore(0, snapshot);
    await b.feed(1200, 3000);
    expect(JSON.stringify(b.p.snapshot(0))).toBe(JSON.stringify(a.p.snapshot(0)));
    const counts = new Map<string, number>();
    for (const e of events) if (e.kind === 'interaction') counts.set(e.userId, (counts.get(e.userId) ?? 0) + 1);
    for (const [u, n] of counts) expect(b.p.learner(u)?.interactions).toBe(n);
    await a.p.stop();
    await b.p.stop();
  });

  it("a checkpoint reuses the unchanged learners' rows (frozen, the same objects) and equals one built afresh, after every kind of event", async () => {
    // interactions, quizzes (knowledge rows), profiles (interests), duplicates (the eventId window), an erasure
    const base = stream(1500);
    const events: PipelineEvent[] = base.map((e, k): PipelineEvent => {
      if (k % 11 === 5)
        return {
          kind: 'quiz',
          eventId: `q${k}`,
          userId: e.userId,
          itemId: `${e.resourceId}-q`,
          resourceId: e.resourceId,
          skills: ['s1'],
          correct: k % 2 === 0,
          occurredAt: e.occurredAt,
        };
      if (k % 97 === 13) return { kind: 'profile', userId: e.userId, interests: [`topic${k % 5}`] };
      if (k % 53 === 7) return { ...base[k - 3] }; // a retry of an event 3 back
      if (k === 900) return { kind: 'erasure', userId: 'u7' };
      return e;
    });
    const a = learner(events);
    a.p.restore(0, null);
    let previous = new Map<string, unknown>();
    let reused = 0;
    for (let from = 0; from < events.length; from += 50) {
      await a.feed(from, from + 50);
      const warm = a.p.snapshot(0);
      expect(JSON.stringify(warm)).toBe(JSON.stringify(a.p.snapshot(0, { reuse: false })));
      const rows = new Map<string, unknown>([
        ...warm.learners.map((r): [string, unknown] => [`l/${r[0]}`, r]),
        ...warm.knowledge.learners.map((r): [string, unknown] => [`k/${r[0]}`, r]),
      ]);
      for (const [k, row] of rows) {
        expect(Object.isFrozen(row)).toBe(true);
        if (previous.get(k) === row) reused++;
      }
      previous = rows;
    }
    const last = a.p.snapshot(0);
    expect(last.knowledge.learners.length).toBeGreaterThan(30);
    // with 60 learners and 50 events a step, most rows stay the same objects from one checkpoint to the next
    expect(reused).toBeGreaterThan(500);
    await a.p.stop();
  });

  it('the item owner applies each source (partition, offset, seq) once, even when a learner replays', () => {
    const pushed: string[] = [];
    const sink: RecordSink = { push: (k) => void pushed.push(k), flush: () => Promise.resolve(), backlog: 0 };
    const item = new ItemProcessor({ model, factors: sink, emit: noopEmitter, logger });
    item.restore(0, null);
    const grad = new Float32Array(16).fill(0.01);
    const send = (off: number, seq: number, pos: number) =>
      item.apply(0, {
        topic: 'u',
        partition: 0,
        offset: String(pos),
        key: null,
        value: encodeItemUpdate({
          kind: 'delta',
          itemId: 'r1',
          grad,
          gradBias: 0.1,
          countsAsEvent: seq === 0,
          timestamp: 1,
          src: 'i:0',
          off: String(off),
          seq,
        }),
        timestamp: 0,
        headers: {},
      });
    let pos = 0;
    for (let off = 0; off < 5; off++) for (let seq = 0; seq < 3; seq++) send(off, seq, pos++);
    const once = item.table(0)!.get('r1')!;
    // The learner crashed after offset 4 and replays from offset 2: every duplicate is skipped...
    for (let off = 2; off < 5; off++) for (let seq = 0; seq < 3; seq++) send(off, seq, pos++);
    expect(item.table(0)!.get('r1')).toEqual(once);
    expect(once.count).toBe(5);
    // ...but the row is still re-broadcast, so replicas see the owner's position move on.
    pushed.length = 0;
    item.afterBatch(0);
    expect(pushed).toEqual(['r1']);
    send(5, 0, pos);
    expect(item.table(0)!.get('r1')!.count).toBe(6);
  });

  it('the item owner sends a gradient as the row alone and transitions as the signals record alone; a replica holds both', () => {
    const pushed: [string, Buffer | null][] = [];
    const sink: RecordSink = { push: (k, v) => void pushed.push([k, v]), flush: () => Promise.resolve(), backlog: 0 };
    const item = new ItemProcessor({ model, factors: sink, emit: noopEmitter, logger });
    item.restore(0, null);
    let off = 0;
    const send = (...updates: Parameters<typeof encodeUpdateBatch>[0]) => {
      item.apply(0, {
        topic: 'u',
        partition: 0,
        offset: String(off),
        key: null,
        value: encodeUpdateBatch(updates),
        timestamp: 0,
        headers: {},
      });
      item.afterBatch(0);
      off++;
    };
    const grad = (itemId: string, seq: number) =>
      ({
        kind: 'delta',
        itemId,
        grad: new Float32Array(16).fill(0.01),
        gradBias: 0.1,
        countsAsEvent: true,
        timestamp: 1,
        src: 'i:0',
        off: String(off),
        seq,
      }) as const;
    const links = (itemId: string, to: string[], seq: number) =>
      ({ kind: 'links', itemId, to, w: to.map(() => 1), pop: 1, t: 5 + off, src: 'i:0', off: String(off), seq }) as const;
    const replica = new ItemTable(16);
    const viaDecode = new ItemTable(16);
    const keys = () => {
      const k = pushed.map(([key, value]) => {
        const sigOf = signalsKeyItem(key);
        if (sigOf === undefined) {
          replica.set(decodeItemRow(key, value!));
          viaDecode.set(decodeItemRow(key, value!));
        } else {
          // as ItemReplica applies it (from the bytes), and through the decoded form
          const i = replica.indexOf(sigOf);
          applyItemSignals(replica, i >= 0 ? i : replica.ensureRef(sigOf), value!);
          const s = decodeItemSignals(value!, viaDecode.signalTotals(sigOf)).signals;
          const j = viaDecode.indexOf(sigOf);
          if (s) viaDecode.setSignals(j >= 0 ? j : viaDecode.ensureRef(sigOf), s);
        }
        return sigOf === undefined ? key : `${sigOf}+signals`;
      });
      pushed.length = 0;
      return k;
    };
    send(grad('a', 0), grad('b', 1));
    expect(keys()).toEqual(['a', 'b']);
    send(links('a', ['b', 'c'], 0));
    expect(keys()).toEqual(['a+signals']);
    // transitions of an item without a row of its own wait in its placeholder; its first row brings them along
    send(links('c', ['a'], 0));
    expect(keys()).toEqual([]);
    send(grad('c', 0), grad('a', 1));
    expect(keys()).toEqual(['c', 'a', 'c+signals']);
    const owner = item.table(0)!;
    for (const id of ['a', 'b', 'c']) {
      expect(replica.get(id)).toEqual(owner.get(id));
      expect(viaDecode.get(id)).toEqual(owner.get(id));
    }
    // a restarted owner re-broadcasts both records of every item it owns
    const restarted = new ItemProcessor({ model, factors: sink, emit: noopEmitter, logger });
    restarted.restore(0, item.snapshot(0));
    restarted.afterBatch(0);
    expect(keys().sort()).toEqual(['a', 'a+signals', 'b', 'c', 'c+signals']);
  });

  it('coalesces a burst of re-rank requests into an immediate re-rank and one at the end of the interval', async () => {
    const store = new MemoryServingStore();
    let builds = 0;
    const r = new Reranker({
      store,
      build: (userId) =>
        ({
          userId,
          items: [],
          modelVersion: 'x',
          generatedAt: Date.now(),
          eventTime: Date.now(),
          source: 'personal',
          n: ++builds,
        }) as never,
      emit: noopEmitter,
      logger,
      intervalMs: 150,
    });
    r.request('L');
    await new Promise((res) => setTimeout(res, 20));
    for (let k = 0; k < 20; k++) r.request('L');
    await new Promise((res) => setTimeout(res, 300));
    await r.drain();
    expect(builds).toBe(2);
    expect(await store.getRecommendations('L')).not.toBeNull();
    await r.stop();
  });

  it('checkpoint files round-trip state and offsets', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-cp-'));
    const store = new FileCheckpointStore(dir);
    expect(await store.get('learner', 3)).toBeNull();
    await store.put('learner', 3, { offsets: { 't:3': '42' }, state: { x: [1, 2] }, writtenAt: 1 });
    await store.put('learner', 3, { offsets: { 't:3': '43' }, state: { x: [3] }, writtenAt: 2 });
    expect(await store.get('learner', 3)).toEqual({ offsets: { 't:3': '43' }, state: { x: [3] }, writtenAt: 2 });
    expect(fs.readdirSync(path.join(dir, 'learner'))).toEqual(['group-3.json']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replica staleness counts gradients not yet acknowledged, before and after the first acknowledgement', async () => {
    // one gradient per record here: `acked` = last offset acknowledged on partition 1 (-1: none yet)
    let acked = -1;
    const reflected = new Map<number, bigint>();
    const sink = {
      backlog: 0,
      send: () => undefined,
      flush: () => Promise.resolve(),
      producedPartitions: () => (acked >= 0 ? [1] : []),
      unreflected: (_p: number, next: bigint) => Math.max(0, acked + 1 - Number(next)),
    } satisfies ItemSink;
    const p = new LearnerProcessor({
      decode: () => Promise.resolve(null),
      model,
      store: new MemoryServingStore(),
      emit: noopEmitter,
      logger,
      topics,
      sink,
      replica: new ItemTable(model.dim),
      replicaReflected: reflected,
      maxReplicaLag: 2000,
      tombstone: () => Promise.resolve(),
      topN: 10,
      historyLength: 50,
      rerankIntervalMs: 1000,
      modelVersion: 'test',
      kernel: 'js',
    });
    // nothing acknowledged yet and an empty replica: the buffered gradients alone are the lag
    sink.backlog = 2000;
    expect(p.ready()).toBe(true);
    sink.backlog = 2001;
    expect(p.ready()).toBe(false);
    // partition 1 acknowledged up to 1499, replica reflects nothing of it: 1500 behind plus what is still buffered
    acked = 1499;
    sink.backlog = 500;
    expect(p.ready()).toBe(true);
    sink.backlog = 501;
    expect(p.ready()).toBe(false);
    reflected.set(1, 1000n);
    expect(p.ready()).toBe(true);
    await p.stop();
  });
});

describe("others' transitions reach an idle learner's list (pipeline.signalRefreshMs)", () => {
  const ev = (k: number, userId: string, resourceId: string): InteractionEvent => ({
    kind: 'interaction',
    eventId: `s${k}`,
    userId,
    resourceId,
    type: 'click',
    occurredAt: 1_600_000_000_000 + k * 1000,
  });
  const run = async (signalRefreshMs: number) => {
    const events = [ev(0, 'bg', 'a'), ev(1, 'bg', 'b'), ev(2, 'q', 'x'), ev(3, 'p', 'x'), ev(4, 'p', 'y')];
    let clock = 0;
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
      now: () => clock,
      manualReranks: true,
      signalRefreshMs,
      kernel: 'js',
    });
    p.restore(0, null);
    for (let k = 0; k < events.length; k++) {
      clock = events[k].occurredAt;
      await p.reranker.runDue();
      await p.apply(0, { topic: 'i', partition: 0, offset: String(k), key: null, value: Buffer.alloc(1), timestamp: clock, headers: {} });
    }
    await p.reranker.runDue();
    // the refresh after p's x ran at once; the one after p's y is due when q's refresh interval ends
    clock += signalRefreshMs;
    await p.reranker.runDue();
    const list = await store.getRecommendations('q');
    await p.stop();
    return list!.items;
  };

  it('on: q, who did x, gets y ("learners who did x went on to this") after p did x then y, with no event of its own', async () => {
    const items = await run(60_000);
    expect(items[0]).toMatchObject({
      resourceId: 'y',
      reasons: expect.arrayContaining([expect.objectContaining({ code: 'because-you-did', ref: 'x' })]),
    });
  });

  it('off (the default): q keeps the list of its last event until its next one', async () => {
    const items = await run(0);
    expect(items.find((i) => i.resourceId === 'y')?.reasons.some((r) => r.code === 'because-you-did') ?? false).toBe(false);
  });
});
