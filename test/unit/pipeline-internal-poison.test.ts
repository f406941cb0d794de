/**
 * The decode guard of the internal topics: what is not one of the pipeline's own records becomes PoisonMessageError
 * with a stable reason (the runner and the replicas dead-letter it) instead of an exception that stops a stage, and a
 * record that would corrupt state quietly (wrong dimension, non-finite) is poison too. The item stage applies nothing
 * of a poison record and goes on with the next one. The pipeline's /readyz reports what its readiness hook says.
 */
import { PoisonMessageError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { serveMetrics } from '../../lib/metrics';
import { Registry } from 'prom-client';
import { guardContentVector, guardItemRow, guardItemSignals, guardItemUpdates, guardKey } from '../../pipelines/internal-records';
import { encodeContentVector } from '../../pipelines/content-messages';
import { ItemProcessor } from '../../pipelines/item/processor';
import type { RecordSink } from '../../pipelines/item/sink';
import { encodeDeltaBatch, encodeItemRow, encodeItemSignals, encodeItemUpdate } from '../../pipelines/messages';
import { ItemTable } from '../../pipelines/model/item-table';
import { createCollabModel } from '../../pipelines/model/collab';

const DIM = 16;
/** What the issue put on model.item-updates and model.item-factors: 26 bytes of text. */
const TEXT = Buffer.from('this is not a valid record');

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PoisonMessageError) return err.reason;
    throw err;
  }
  return 'decoded';
}

const grad = (v = 0.01) => new Float32Array(DIM).fill(v);
const delta = (off: number, g = grad()) => ({
  kind: 'delta' as const,
  itemId: 'r1',
  grad: g,
  gradBias: 0.1,
  countsAsEvent: true,
  timestamp: 1,
  src: 'i:0',
  off: String(off),
  seq: 0,
});

describe('guardItemUpdates (model.item-updates)', () => {
  it('passes the records the pipeline writes', () => {
    expect(guardItemUpdates(encodeDeltaBatch([delta(1), delta(2)]), DIM).map((u) => u.kind)).toEqual(['delta', 'delta']);
    expect(guardItemUpdates(encodeItemUpdate({ kind: 'upsert', itemId: 'r2', f: grad(0.2), b: 0, active: true }), DIM)).toMatchObject([
      { kind: 'upsert', itemId: 'r2', active: true },
    ]);
    expect(guardItemUpdates(encodeItemUpdate({ kind: 'remove', itemId: 'r3' }), DIM)).toEqual([{ kind: 'remove', itemId: 'r3' }]);
  });

  it('makes text, JSON that is not an update, and truncated batches poison (internal-undecodable)', () => {
    expect(TEXT.length).toBe(26);
    expect(reason(() => guardItemUpdates(TEXT, DIM))).toBe('internal-undecodable');
    // these two used to decode: `{}` as the removal of an item named "undefined", an unknown kind as a removal
    expect(reason(() => guardItemUpdates(Buffer.from('{}'), DIM))).toBe('internal-undecodable');
    expect(reason(() => guardItemUpdates(Buffer.from('{"k":"x","i":"r1"}'), DIM))).toBe('internal-undecodable');
    expect(reason(() => guardItemUpdates(Buffer.alloc(0), DIM))).toBe('internal-undecodable');
    const batch = encodeDeltaBatch([delta(1), delta(2)]);
    expect(reason(() => guardItemUpdates(batch.subarray(0, batch.length - 7), DIM))).toBe('internal-undecodable');
  });

  it('makes updates that would corrupt the table poison (internal-invalid): wrong dimension, non-finite values', () => {
    expect(reason(() => guardItemUpdates(encodeDeltaBatch([delta(1, new Float32Array(DIM + 1))]), DIM))).toBe('internal-invalid');
    expect(reason(() => guardItemUpdates(encodeDeltaBatch([delta(1, grad(Number.NaN))]), DIM))).toBe('internal-invalid');
    expect(
      reason(() => guardItemUpdates(encodeItemUpdate({ kind: 'upsert', itemId: 'r2', f: new Float32Array(3), active: true }), DIM)),
    ).toBe('internal-invalid');
    expect(reason(() => guardItemUpdates(Buffer.from('{"k":"r","i":""}'), DIM))).toBe('internal-invalid');
  });
});

describe('guardItemRow (model.item-factors) and guardContentVector (model.content-vectors)', () => {
  const row = {
    itemId: 'r1',
    factors: grad(0.3),
    bias: 0.1,
    count: 4,
    lastT: 10,
    active: true,
    meta: { type: 'video', topics: ['algebra'], skills: [], prerequisites: [] },
  };

  it('passes rows and vectors the pipeline writes', () => {
    expect(guardItemRow('r1', encodeItemRow(row, [0, '12']), DIM)).toMatchObject({ itemId: 'r1', count: 4, pos: [0, '12'] });
    const v = new Float32Array(384).fill(1 / Math.sqrt(384));
    expect(guardContentVector(encodeContentVector(v), 0)).toEqual(v);
    expect(guardContentVector(encodeContentVector(v), 384)).toHaveLength(384);
  });

  it('makes text, truncated rows and rows of another dimension poison', () => {
    expect(reason(() => guardItemRow('r1', TEXT, DIM))).toBe('internal-undecodable');
    const bytes = encodeItemRow(row);
    expect(reason(() => guardItemRow('r1', bytes.subarray(0, 20), DIM))).toBe('internal-undecodable');
    expect(reason(() => guardItemRow('r1', encodeItemRow({ ...row, factors: new Float32Array(8) }), DIM))).toBe('internal-invalid');
    expect(reason(() => guardItemRow('r1', encodeItemRow({ ...row, bias: Number.POSITIVE_INFINITY }), DIM))).toBe('internal-invalid');
  });

  it('makes anything but a unit float32 vector of the table dimension poison: a stray value must never fix the dimension', () => {
    expect(reason(() => guardContentVector(TEXT, 0))).toBe('internal-invalid'); // 26 bytes: not whole float32s
    expect(reason(() => guardContentVector(Buffer.from('this is 24 bytes of text'), 0))).toBe('internal-invalid'); // 6 floats, not unit
    const unit8 = new Float32Array(8).fill(1 / Math.sqrt(8));
    expect(reason(() => guardContentVector(encodeContentVector(unit8), 384))).toBe('internal-invalid');
    expect(reason(() => guardContentVector(encodeContentVector(new Float32Array(384).fill(0.5)), 384))).toBe('internal-invalid');
  });

  it('passes the signals records the item stage writes and makes text, rows, truncated or NaN ones poison', () => {
    const t = new ItemTable(DIM);
    const i = t.ensure('r1');
    t.signals.addLink(i, t.ensureRef('r2'), 1, 10);
    t.signals.addLink(i, t.ensureRef('r3'), 2, 10);
    t.signals.addPopularity(i, 1, 10);
    const sig = encodeItemSignals(t.ids, t.signals.row(i), t.signals.popularityKey(i), [1, '40']);
    expect(guardItemSignals(sig)).toEqual({ pos: [1, '40'], skip: false });
    expect(guardItemSignals(sig, t.signalTotals('r1'))).toEqual({ pos: [1, '40'], skip: true });
    expect(reason(() => guardItemSignals(TEXT))).toBe('internal-invalid');
    // a row under a signals key, and a signals record under a row key
    expect(reason(() => guardItemSignals(encodeItemRow(row)))).toBe('internal-invalid');
    expect(reason(() => guardItemRow('r1', sig, DIM))).toBe('internal-undecodable');
    for (const cut of [5, 20, sig.length - 3]) expect(reason(() => guardItemSignals(sig.subarray(0, cut)))).toBe('internal-undecodable');
    expect(reason(() => guardItemSignals(Buffer.concat([sig, Buffer.alloc(2)])))).toBe('internal-undecodable');
    const nan = Buffer.from(sig);
    nan.writeDoubleLE(Number.NaN, nan.length - 8); // the last transition's key
    expect(reason(() => guardItemSignals(nan))).toBe('internal-invalid');
  });

  it('makes a record without a key poison (missing-key)', () => {
    expect(guardKey(Buffer.from('r1'), 't')).toBe('r1');
    expect(reason(() => guardKey(null, 't'))).toBe('missing-key');
    expect(reason(() => guardKey(Buffer.alloc(0), 't'))).toBe('missing-key');
  });
});

describe('item stage on poison', () => {
  it('applies nothing of an undecodable record and goes on with the next one', () => {
    const sink: RecordSink = { push: () => undefined, flush: () => Promise.resolve(), backlog: 0 };
    const item = new ItemProcessor({
      model: createCollabModel({ dim: DIM, seed: 7 }),
      factors: sink,
      emit: noopEmitter,
      logger: createLogger({ level: 'error' }),
    });
    item.restore(0, null);
    const rec = (offset: number, value: Buffer) => ({
      topic: 'u',
      partition: 0,
      offset: String(offset),
      key: Buffer.from('r1'),
      value,
      timestamp: 0,
      headers: {},
    });
    item.apply(0, rec(0, encodeDeltaBatch([delta(0)])));
    const before = JSON.stringify(item.snapshot(0));
    expect(() => item.apply(0, rec(1, TEXT))).toThrow(PoisonMessageError);
    const good = encodeDeltaBatch([delta(1)]);
    // a batch whose second half is cut off: the first gradient must not be applied either (all or nothing)
    expect(() => item.apply(0, rec(2, Buffer.concat([good, good.subarray(0, 40)])))).toThrow(PoisonMessageError);
    expect(JSON.stringify(item.snapshot(0))).toBe(before);
    item.apply(0, rec(3, good));
    expect(item.table(0)!.get('r1')!.count).toBe(2);
  });
});

describe('pipeline /readyz', () => {
  it('answers 200 when ready and 503 with the reasons when not; notes do not make it unready', async () => {
    let reasons: string[] = [];
    let notes: string[] = [];
    const server = await serveMetrics(new Registry(), 0, '127.0.0.1', {
      readiness: () => ({ ready: reasons.length === 0, reasons, notes }),
    });
    try {
      const get = async () => {
        const r = await fetch(`http://127.0.0.1:${server.port}/readyz`);
        return { status: r.status, body: await r.json() };
      };
      expect(await get()).toEqual({ status: 200, body: { status: 'ready', reasons: [] } });
      reasons = ['item replica consumer of model.item-factors crashed (kafkajs restarts it): boom'];
      expect(await get()).toEqual({ status: 503, body: { status: 'unready', reasons } });
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      // a group that replayed its input (changelog state not rebuildable): a note, still ready
      reasons = [];
      notes = ['learner/0 replayed its input from the start at ...: changelog state not rebuildable (chunk-missing: ...)'];
      expect(await get()).toEqual({ status: 200, body: { status: 'ready', reasons: [], notes } });
    } finally {
      await server.close();
    }
  });
});
