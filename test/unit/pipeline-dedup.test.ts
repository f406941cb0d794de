/**
 * Exactly-once per eventId in the learner stage, in-process: a retried event (same eventId, any input topic) changes
 * nothing, the window is bounded and documented, survives a checkpoint, and is erased with the learner.
 */
import { createLogger } from '../../lib/log';
import { Registry } from 'prom-client';
import { bindInstrumentation, createInstrumentation, createMetrics } from '../../lib/metrics';
import { MemoryServingStore } from '../../serving/memory-store';
import type { PipelineEvent, QuizEvent } from '../../consumers/event-types';
import { DEDUP_WINDOW, EventIdWindow } from '../../pipelines/learner/dedup';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import { createCollabModel } from '../../pipelines/model/collab';
import type { InputRecord } from '../../consumers/runner/stage-runner';

const logger = createLogger({ level: 'error' });
const model = createCollabModel({ dim: 16, seed: 7 });
const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };
const T0 = 1_700_000_000_000;

const quiz = (eventId: string, userId = 'u1', correct = true): QuizEvent => ({
  kind: 'quiz',
  eventId,
  userId,
  itemId: 'q-fractions-1',
  resourceId: 'r-fractions',
  skills: ['fractions'],
  correct,
  score: null,
  occurredAt: T0,
});
const click = (eventId: string, userId = 'u1', resourceId = 'r1'): PipelineEvent => ({
  kind: 'interaction',
  eventId,
  userId,
  resourceId,
  type: 'click',
  occurredAt: T0,
});

/** A learner processor fed (topic, event) pairs as records; decode hands the event back by offset. */
function harness() {
  const events: PipelineEvent[] = [];
  const instr = createInstrumentation();
  const duplicates: string[] = [];
  instr.on('event.duplicate', (e) => duplicates.push(e.topic));
  const registry = new Registry();
  bindInstrumentation(instr, createMetrics(registry, { roles: ['pipeline', 'learner'], defaultMetrics: false }));
  const store = new MemoryServingStore();
  const p = new LearnerProcessor({
    decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
    model,
    store,
    emit: instr,
    logger,
    topics,
    tombstone: () => Promise.resolve(),
    topN: 10,
    historyLength: 50,
    rerankIntervalMs: 1000,
    modelVersion: 'test',
  });
  p.restore(0, null);
  const send = async (topic: string, ev: PipelineEvent, timestamp = T0) => {
    events.push(ev);
    const rec: InputRecord = {
      topic,
      partition: 0,
      offset: String(events.length - 1),
      key: null,
      value: Buffer.alloc(1),
      timestamp,
      headers: {},
    };
    await p.apply(0, rec);
  };
  return { p, send, duplicates, store, registry };
}

describe('EventIdWindow', () => {
  it('answers false for an eventId it holds and forgets the oldest beyond its size', () => {
    const w = new EventIdWindow(4);
    for (const id of ['a', 'b', 'c', 'd']) expect(w.add(id)).toBe(true);
    expect(w.add('a')).toBe(false);
    expect(w.add('d')).toBe(false);
    expect(w.length).toBe(4);
    expect(w.add('e')).toBe(true); // evicts a
    expect(w.add('b')).toBe(false);
    expect(w.add('a')).toBe(true); // out of the window: new again, evicts b
    expect(w.add('c')).toBe(false);
    expect(w.add('b')).toBe(true);
    expect(w.length).toBe(4);
  });

  it('round-trips through its checkpoint form oldest first, wrapped or not', () => {
    for (const n of [0, 3, 10, 13]) {
      const w = new EventIdWindow(8);
      for (let i = 0; i < n; i++) w.add(`id-${i}`);
      const r = EventIdWindow.fromB64(w.toB64(), 8);
      expect(r.toB64()).toBe(w.toB64());
      expect(r.length).toBe(Math.min(n, 8));
      // same behaviour after the round trip: the held ids are duplicates, the evicted ones are not
      for (let i = Math.max(0, n - 8); i < n; i++) expect(r.add(`id-${i}`)).toBe(false);
      if (n > 8) expect(r.add(`id-${n - 9}`)).toBe(true);
    }
    // a checkpoint from a larger window keeps its newest entries
    const big = new EventIdWindow(16);
    for (let i = 0; i < 16; i++) big.add(`x${i}`);
    const small = EventIdWindow.fromB64(big.toB64(), 4);
    expect(small.length).toBe(4);
    expect(small.add('x15')).toBe(false);
    expect(small.add('x11')).toBe(true);
  });

  it('takes none of 50,000 distinct, similar ids for a duplicate (64-bit hashes)', () => {
    const w = new EventIdWindow();
    let dup = 0;
    for (let i = 0; i < 50_000; i++) if (!w.add(`6f1c${i.toString(16).padStart(8, '0')}-e`)) dup++;
    expect(dup).toBe(0);
  });
});

describe('learner stage: exactly-once per eventId', () => {
  it('one batch with five identical quiz attempts gives attempts: 1, and exactly the state of a single attempt', async () => {
    const five = harness();
    for (let k = 0; k < 5; k++) await five.send('q', quiz('quiz-e1'));
    const one = harness();
    await one.send('q', quiz('quiz-e1'));
    expect(five.p.learner('u1')?.quizzes).toBe(1);
    expect(five.p.learner('u1')?.history).toEqual(['r-fractions']);
    expect(five.duplicates).toEqual(['q', 'q', 'q', 'q']);
    expect(await five.registry.metrics()).toContain('learnstream_pipeline_duplicates_total{topic="q"} 4');
    // knowledge beliefs, factors, the item row the attempt trained, the window itself: all as after one attempt
    expect(JSON.stringify(five.p.snapshot(0))).toBe(JSON.stringify(one.p.snapshot(0)));
    await five.p.stop();
    await one.p.stop();
  });

  it('a duplicate is recognised across the input topics and per learner only', async () => {
    const h = harness();
    await h.send('i', click('e1'));
    await h.send('q', { ...quiz('e1'), correct: false }); // same id on the other topic: a retry, not a new attempt
    await h.send('i', click('e1', 'u2')); // another learner's eventId space
    await h.send('i', click('e2'));
    expect(h.p.learner('u1')).toMatchObject({ interactions: 2, quizzes: 0 });
    expect(h.p.learner('u2')).toMatchObject({ interactions: 1 });
    expect(h.duplicates).toEqual(['q']);
    await h.p.stop();
  });

  it(`a whole batch of 500 retried changes nothing; an event re-sent after ${DEDUP_WINDOW} newer ones is applied again`, async () => {
    const h = harness();
    const batch = Array.from({ length: 500 }, (_, k) => click(`b-${k}`, 'u1', `r${k % 37}`));
    for (const ev of batch) await h.send('i', ev);
    const before = JSON.stringify(h.p.snapshot(0));
    for (const ev of batch) await h.send('i', ev);
    expect(JSON.stringify(h.p.snapshot(0))).toBe(before);
    expect(h.p.learner('u1')?.interactions).toBe(500);
    expect(h.duplicates.length).toBe(500);
    // the window is the learner's last DEDUP_WINDOW events: filled up to exactly DEDUP_WINDOW, b-0 is still held...
    for (let k = 0; k < DEDUP_WINDOW - 500; k++) await h.send('i', click(`c-${k}`));
    await h.send('i', batch[0]);
    expect(h.p.learner('u1')?.interactions).toBe(DEDUP_WINDOW);
    // ...one more event pushes it out, and it is learned again
    await h.send('i', click('c-last'));
    await h.send('i', batch[0]);
    expect(h.p.learner('u1')?.interactions).toBe(DEDUP_WINDOW + 2);
    expect(h.duplicates.length).toBe(501);
    await h.p.stop();
  });

  it('the window is in the checkpoint: a retry consumed after a restore is still a duplicate', async () => {
    const a = harness();
    await a.send('q', quiz('e1'));
    await a.send('i', click('e2'));
    const json = JSON.parse(JSON.stringify(a.p.snapshot(0))) as LearnerGroupJSON;
    expect(json.learners[0][1].e).toEqual(expect.any(String));
    const b = harness();
    b.p.restore(0, json);
    await b.send('q', quiz('e1'));
    await b.send('i', click('e2'));
    await b.send('i', click('e3'));
    expect(b.p.learner('u1')).toMatchObject({ quizzes: 1, interactions: 2 });
    expect(b.duplicates).toEqual(['q', 'i']);
    await a.p.stop();
    await b.p.stop();
  });

  it('the window is erased with the learner', async () => {
    const h = harness();
    await h.send('q', quiz('e1'));
    await h.send('e', { kind: 'erasure', userId: 'u1' }, T0 + 10);
    expect(h.p.learner('u1')).toBeUndefined();
    expect(JSON.stringify(h.p.snapshot(0))).not.toContain('"e":"');
    // an event sent after the erasure starts a new learner, who has no memory of the erased one's eventIds
    await h.send('q', quiz('e1'), T0 + 20);
    expect(h.p.learner('u1')?.quizzes).toBe(1);
    expect(h.duplicates).toEqual([]);
    await h.p.stop();
  });
});
