/**
 * The internal records: gradient batches keep every gradient's identity and exact bytes, rows survive the binary
 * layout (NaN, positions, catalogue facts), older JSON records stay readable, and the item sink sends one record per
 * partition in call order with an acknowledgement ledger counted in updates.
 */
import type { Producer, RecordMetadata } from 'kafkajs';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import {
  decodeItemRow,
  decodeItemUpdates,
  encodeDeltaBatch,
  encodeItemRow,
  encodeItemUpdate,
  encodeRowSignals,
  encodeTableSignals,
  encodeUpdateBatch,
  rowPosition,
  type DeltaUpdate,
  type LinksUpdate,
} from '../../pipelines/messages';
import { ItemTable } from '../../pipelines/model/item-table';
import { applyItemUpdate } from '../../pipelines/item/apply';
import { createCollabModel } from '../../pipelines/model/collab';
import { KafkaItemSink, KafkaRecordSink, keyPartitioner, memoPartitioner } from '../../pipelines/item/sink';
import { f32ToB64 } from '../../consumers/state/codec';

const delta = (itemId: string, off: string, seq: number, g: number): DeltaUpdate => ({
  kind: 'delta',
  itemId,
  grad: Float32Array.from({ length: 4 }, (_, k) => g / 3 + k * 1e-7),
  gradBias: g / 7,
  countsAsEvent: seq === 0,
  timestamp: 1_700_000_000_123 + seq,
  src: `learnstream.learning.interactions:${seq % 2}`,
  off,
  seq,
});

describe('item update records', () => {
  it('a gradient batch decodes to the same gradients, bit for bit, in order', () => {
    const deltas = [
      delta('r1', '0', 0, 1),
      delta('résumé-2', '0', 1, -2.5),
      delta('r1', '9007199254740993', 0, 1e-30),
      delta('r3', '12', 4, 3),
    ];
    const back = decodeItemUpdates(encodeDeltaBatch(deltas));
    expect(back).toHaveLength(4);
    back.forEach((u, j) => {
      expect(u).toEqual(deltas[j]);
      if (u.kind === 'delta') expect(f32ToB64(u.grad)).toBe(f32ToB64(deltas[j].grad));
    });
  });

  it('reads the JSON records of the previous version', () => {
    const d = delta('r1', '5', 2, 0.5);
    expect(decodeItemUpdates(encodeItemUpdate(d))).toEqual([d]);
    expect(decodeItemUpdates(encodeItemUpdate({ kind: 'remove', itemId: 'r9' }))).toEqual([{ kind: 'remove', itemId: 'r9' }]);
  });

  it('a row round-trips with NaN lastT, its position and its catalogue facts, and reuses unchanged facts', () => {
    const meta = { type: 'video', topics: ['Algebra'], title: 'Linear équations' };
    const row = { itemId: 'r1', factors: Float32Array.from([0.1, -0.2, 0.3]), bias: 0.25, count: 7, lastT: Number.NaN, active: true, meta };
    const buf = encodeItemRow(row, [3, '123456']);
    const back = decodeItemRow('r1', buf);
    expect(back).toMatchObject({ itemId: 'r1', bias: 0.25, count: 7, active: true, meta, pos: [3, '123456'] });
    expect(back.lastT).toBeNaN();
    expect(Array.from(back.factors)).toEqual(Array.from(row.factors));
    expect(rowPosition(buf)).toEqual([3, '123456']);
    expect(rowPosition(encodeItemRow({ ...row, meta: undefined }))).toBeUndefined();
    const again = decodeItemRow('r1', encodeItemRow({ ...row, count: 8 }), { bytes: back.metaBytes!, meta: back.meta! });
    expect(again.meta).toBe(back.meta);
    const changed = decodeItemRow('r1', encodeItemRow({ ...row, meta: { ...meta, title: 'other' } }), {
      bytes: back.metaBytes!,
      meta: back.meta!,
    });
    expect(changed.meta).toEqual({ ...meta, title: 'other' });
  });
});

describe("the recommender's signals on the internal topics", () => {
  const links = (itemId: string, off: string, seq: number): LinksUpdate => ({
    kind: 'links',
    itemId,
    to: ['a', 'ü-2', 'c'],
    w: [1, 0.5, 0.25],
    pop: seq % 2,
    t: 1_700_000_123.5,
    src: 'learnstream.learning.interactions:1',
    off,
    seq,
  });

  it('a batch of gradients and links decodes to the same updates, in order', () => {
    const updates = [delta('r1', '5', 0, 1), links('r1', '5', 1), links('r2', '9007199254740993', 2), delta('r3', '6', 0, -2)];
    expect(decodeItemUpdates(encodeUpdateBatch(updates))).toEqual(updates);
    // a batch of gradients only keeps the older layout, which older item stages read
    expect(encodeUpdateBatch([delta('r1', '5', 0, 1)])[0]).toBe(0x02);
  });

  it('an owner applies links to its rows; the row carries them on model.item-factors to a replica, by id', () => {
    const model = createCollabModel({ dim: 4, seed: 1 });
    const owner = new ItemTable(4);
    applyItemUpdate(owner, model, delta('r1', '1', 0, 1));
    applyItemUpdate(owner, model, { ...links('r1', '1', 1), pop: 1 });
    const row = owner.get('r1')!;
    expect(row.signals?.to).toEqual(['a', 'ü-2', 'c']);
    const replica = new ItemTable(4);
    replica.set({ itemId: 'c', factors: new Float32Array(4), bias: 0, count: 1, lastT: 0, active: true });
    replica.set(decodeItemRow('r1', encodeItemRow(row, [0, '2'])));
    const r = replica.signals.row(replica.indexOf('r1'))!;
    expect(Array.from(r.to.subarray(0, r.len), (i) => replica.ids[i])).toEqual(['a', 'ü-2', 'c']);
    expect(replica.signals.popularityKey(replica.indexOf('r1'))).toBe(owner.signals.popularityKey(owner.indexOf('r1')));
    // targets the replica has no row of yet are placeholders: inactive, not broadcast, taken over by their row
    const a = replica.indexOf('a');
    expect([replica.active[a], replica.placeholder[a]]).toEqual([0, 1]);
    replica.set({ itemId: 'a', factors: new Float32Array(4), bias: 0, count: 2, lastT: 0, active: true });
    expect([replica.active[a], replica.placeholder[a]]).toEqual([1, 0]);
  });

  it('a checkpointed table restores its signals; placeholders are not checkpointed', () => {
    const model = createCollabModel({ dim: 4, seed: 1 });
    const t = new ItemTable(4);
    applyItemUpdate(t, model, delta('r1', '1', 0, 1));
    applyItemUpdate(t, model, links('r1', '1', 1));
    const json = JSON.parse(JSON.stringify(t.toJSON())) as ReturnType<ItemTable['toJSON']>;
    expect(json.rows.map((r) => r.id)).toEqual(['r1']);
    const back = ItemTable.fromJSON(json);
    expect(back.get('r1')!.signals).toEqual(t.get('r1')!.signals);
    // a placeholder that later gets its first gradient becomes a real, active row with the seeded start
    applyItemUpdate(back, model, delta('a', '2', 0, 1));
    expect(back.get('a')!.active).toBe(true);
  });
});

describe('KafkaItemSink', () => {
  it('sends one record per partition in call order and counts acknowledged updates per partition', async () => {
    const sent: { partition?: number; key: string | null; value: Buffer }[][] = [];
    const offsets = new Map<number, number>();
    const producer = {
      send: ({ messages }: { messages: { partition?: number; key: string | null; value: Buffer }[] }): Promise<RecordMetadata[]> => {
        sent.push(messages);
        const meta: RecordMetadata[] = [];
        const seen = new Set<number>();
        for (const m of messages) {
          const p = m.partition!;
          if (!seen.has(p)) meta.push({ topicName: 't', partition: p, errorCode: 0, baseOffset: String(offsets.get(p) ?? 0) });
          seen.add(p);
          offsets.set(p, (offsets.get(p) ?? 0) + 1);
        }
        return Promise.resolve(meta);
      },
    } as unknown as Producer;
    const partitionOf = keyPartitioner('t', 4);
    const sink = new KafkaItemSink(new KafkaRecordSink(producer, 't', noopEmitter), { partitionOf, lingerMs: 1000 });
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    ids.forEach((id, i) => sink.send(delta(id, String(i), 0, i)));
    sink.send({ kind: 'remove', itemId: 'r0' });
    sink.send(delta('r0', '40', 0, 1));
    expect(sink.backlog).toBeGreaterThan(0);
    await sink.flush();
    expect(sink.backlog).toBe(0);
    const records = sent.flat();
    // 40 gradients over at most 4 partitions, then the removal, then one more gradient record
    const batches = records.filter((r) => r.value[0] === 0x02);
    expect(batches.length).toBeLessThanOrEqual(5);
    const order = records.flatMap((r) => decodeItemUpdates(r.value).map((u) => ({ u, partition: r.partition })));
    const label = ({ u }: (typeof order)[number]) => (u.kind === 'delta' ? u.off : u.kind);
    expect(
      order
        .slice(0, 40)
        .map(label)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual(ids.map((_, i) => String(i)));
    expect(order.slice(40).map(label)).toEqual(['remove', '40']);
    // per partition, the order of the calls
    for (let p = 0; p < 4; p++) {
      const offs = order.filter((x) => x.partition === p).map(label);
      expect(offs).toEqual(
        [...offs].sort((a, b) => (a === 'remove' ? 40 : Number(a)) - (b === 'remove' ? 40 : Number(b)) || (a === 'remove' ? -1 : 1)),
      );
    }
    for (const { u, partition } of order) expect(partition).toBe(partitionOf(u.itemId));
    // acknowledged updates per partition; what a replica at position `next` has not reflected yet
    let total = 0;
    for (const p of sink.producedPartitions()) total += sink.unreflected(p, 0n);
    expect(total).toBe(42);
    const p0 = partitionOf('r0');
    const onP0 = order.filter(({ partition }) => partition === p0).length;
    expect(sink.unreflected(p0, 0n)).toBe(onP0);
    expect(sink.unreflected(p0, BigInt(offsets.get(p0)! - 1))).toBe(1); // the last record: one gradient
    expect(sink.unreflected(p0, BigInt(offsets.get(p0)!))).toBe(0);
  });
});

describe('KafkaRecordSink', () => {
  it("keeps every produce request under the broker's message size: rows with signals are kilobytes each", async () => {
    const requests: number[] = [];
    const producer = {
      send: ({ messages }: { messages: { key: string | null; value: Buffer }[] }): Promise<RecordMetadata[]> => {
        requests.push(messages.reduce((s, m) => s + m.value.length, 0));
        return Promise.resolve([]);
      },
    } as unknown as Producer;
    const sink = new KafkaRecordSink(producer, 't', noopEmitter, 1000);
    for (let i = 0; i < 400; i++) sink.push(`r${i}`, Buffer.alloc(6000));
    await sink.flush();
    expect(requests.reduce((s, b) => s + b, 0)).toBe(400 * 6000);
    expect(Math.max(...requests)).toBeLessThanOrEqual(512 * 1024);
  });
});

describe('row broadcasts', () => {
  it('a replica holding the same signal totals skips parsing the targets; a changed row is parsed', () => {
    const t = new ItemTable(4);
    applyItemUpdate(t, createCollabModel({ dim: 4, seed: 1 }), {
      kind: 'delta',
      itemId: 'r1',
      grad: new Float32Array(4),
      gradBias: 0,
      countsAsEvent: true,
      timestamp: 1,
      src: 's',
      off: '1',
      seq: 0,
    });
    applyItemUpdate(t, createCollabModel({ dim: 4, seed: 1 }), {
      kind: 'links',
      itemId: 'r1',
      to: ['a', 'b'],
      w: [1, 2],
      pop: 1,
      t: 5,
      src: 's',
      off: '1',
      seq: 1,
    });
    const buf = encodeItemRow(t.get('r1')!);
    const totals = t.signalTotals('r1')!;
    expect(decodeItemRow('r1', buf, undefined, totals).signals).toBeUndefined();
    expect(decodeItemRow('r1', buf, undefined, { ...totals, sumKey: totals.sumKey - 1 }).signals?.to).toEqual(['a', 'b']);
  });
});

describe('row broadcasts without intermediate copies (issue 15, learner-stage CPU)', () => {
  const model = createCollabModel({ dim: 4, seed: 1 });
  const links = (itemId: string, to: string[], off: string): LinksUpdate => ({
    kind: 'links',
    itemId,
    to,
    w: to.map((_, k) => k + 1),
    pop: 1,
    t: 5 + Number(off),
    src: 's',
    off,
    seq: 0,
  });

  it("encodes a table row's signals to the same bytes as its id arrays, non-ASCII ids and popularity-only rows too", () => {
    const t = new ItemTable(4);
    applyItemUpdate(t, model, links('r1', ['a', 'b-é', 'c'], '1'));
    applyItemUpdate(t, model, links('r1', ['b-é', 'd'], '2'));
    applyItemUpdate(t, model, { ...links('p', [], '3'), pop: 2 });
    for (const id of ['r1', 'p']) {
      const i = t.indexOf(id);
      expect(encodeTableSignals(t.ids, t.signals.row(i), t.signals.popularityKey(i))).toEqual(encodeRowSignals(t.rowSignals(i)!));
    }
  });

  it('a changed row decodes to the same targets, reusing the id strings the replica holds where they did not move', () => {
    const owner = new ItemTable(4);
    const replica = new ItemTable(4);
    applyItemUpdate(owner, model, links('r1', ['a', 'b-é', 'c'], '1'));
    replica.set(decodeItemRow('r1', encodeItemRow(owner.get('r1')!)));
    applyItemUpdate(owner, model, links('r1', ['c', 'e'], '2'));
    const held = replica.signalTotals('r1')!;
    const back = decodeItemRow('r1', encodeItemRow(owner.get('r1')!), undefined, held);
    expect(back.signals).toEqual(owner.get('r1')!.signals);
    const heldIds = held.targets!;
    // 'a' and 'c' sit where the replica holds them (taken from its ids), 'b-é' (not ASCII) and the new 'e' are decoded
    expect(back.signals!.to.slice(0, 3)).toEqual([0, 1, 2].map((k) => heldIds.ids[heldIds.to[k]]));
    replica.set(back);
    expect(replica.rowSignals(replica.indexOf('r1'))).toEqual(owner.rowSignals(owner.indexOf('r1')));
  });

  it('memoPartitioner answers as keyPartitioner, also after it starts over', () => {
    const of = keyPartitioner('t', 6);
    const memo = memoPartitioner('t', 6, 50);
    for (let round = 0; round < 2; round++) for (let i = 0; i < 120; i++) expect(memo(`res-${i}`)).toBe(of(`res-${i}`));
  });

  it('a routed record sink names each keyed record its partition and books no acknowledgements for them', async () => {
    const sent: { key: string | null; partition?: number }[] = [];
    const producer = {
      send: ({ messages }: { messages: { key: string | null; partition?: number }[] }): Promise<RecordMetadata[]> => {
        sent.push(...messages);
        return Promise.resolve([{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '0' }]);
      },
    } as unknown as Producer;
    const route = keyPartitioner('t', 4);
    const sink = new KafkaRecordSink(producer, 't', noopEmitter, 1000, undefined, undefined, route);
    for (let i = 0; i < 30; i++) sink.push(`r${i}`, Buffer.alloc(4));
    sink.push('x', null, undefined, 3);
    await sink.flush();
    expect(sent.map((m) => m.partition)).toEqual([...Array.from({ length: 30 }, (_, i) => route(`r${i}`)), 3]);
    expect(sink.acked.size).toBe(0);
  });
});
