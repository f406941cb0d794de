/**
 * The changelog restore's verdict on one group's records (consumers/state/changelog-read.ts), records built by hand in
 * the layout a put writes (consumers/state/changelog.ts): poison under a head, chunk or row key is dead-lettered and the
 * last good version used; when compaction has removed that version the verdict is a replay (a fallback with its
 * reason), never a throw. The same on the real broker: test/integration/checkpoint-changelog.test.ts.
 */
import type { KafkaMessage } from 'kafkajs';
import { chunkHash, GroupLogReader, REWRITE, type GroupVerdict } from '../../consumers/state/changelog-read';

const TAGS = new Set(['l', 'k']);
let offset = 0;
type Rec = [rest: string, value: string | null];

const msg = (value: string | null): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: value === null ? null : Buffer.from(value), headers: {} }) as unknown as KafkaMessage;

function read(records: Rec[]): GroupVerdict {
  const r = new GroupLogReader(TAGS);
  for (const [rest, value] of records) r.add(rest, value, msg(value));
  return r.finish();
}

/** What one put writes for a state whose non-row fields are `meta` cut in `cut` chunks, and learner rows `rows`. */
function put(meta: object, rows: Record<string, number>, cut = 2, opts: { hashes?: boolean; counts?: boolean } = {}): Rec[] {
  const text = JSON.stringify({ ...meta, learners: [] });
  const size = Math.ceil(text.length / cut);
  const chunks = Array.from({ length: cut }, (_, i) => text.slice(i * size, (i + 1) * size));
  const head = {
    offsets: { 'in:0': String(Object.values(rows).reduce((a, b) => a + b, 0)) },
    writtenAt: 1,
    chunks: cut,
    layout: 2,
    split: ['l'],
    ...(opts.hashes === false ? {} : { hashes: chunks.map(chunkHash) }),
    ...(opts.counts === false ? {} : { counts: { l: Object.keys(rows).length } }),
  };
  return [
    ...Object.entries(rows).map(([id, n], i): Rec => [`l/${id}`, `{"o":${i},"v":{"n":${n}}}`]),
    ...chunks.map((c, i): Rec => [`m/${i}`, c]),
    ['head', JSON.stringify(head)],
  ];
}

const state = (v: GroupVerdict) => {
  if (v.kind !== 'state') throw new Error(`verdict ${v.kind}${v.kind === 'fallback' ? `: ${v.reason} ${v.detail}` : ''}`);
  return { meta: v.meta, learners: (v.byTag.get('l') ?? []).map(([, r]) => r), offsets: v.head.offsets };
};
const letters = (v: GroupVerdict) => v.letters.map((l) => String(l.m.value));

describe('changelog restore verdict', () => {
  const first = put({ weights: [1, 2, 3], tally: 10 }, { u1: 1, u2: 2 });
  const second = put({ weights: [1, 2, 3], tally: 11 }, { u1: 1, u2: 3 });

  it('reads the newest checkpoint, chunk versions by their hashes', () => {
    expect(state(read([...first, ...second]))).toEqual({
      meta: { weights: [1, 2, 3], tally: 11, learners: [] },
      learners: [{ n: 1 }, { n: 3 }],
      offsets: { 'in:0': '4' },
    });
  });

  it('a foreign record under a chunk key (any text is a valid chunk): dead-lettered, the version its head names used, rewritten next', () => {
    const v = read([...first, ...second, ['m/0', '{"weights":[9'], ['m/1', 'garbage']]);
    expect(state(v).meta).toEqual({ weights: [1, 2, 3], tally: 11, learners: [] });
    expect(letters(v)).toEqual(['{"weights":[9', 'garbage']);
    expect(v.kind === 'state' && v.chunks).toEqual([REWRITE, REWRITE]);
  });

  it('poison between two checkpoints, under a chunk the later one did not change: the earlier version is used', () => {
    // the same first chunk in both puts: the second put does not rewrite m/0
    const a = put({ weights: [1, 2, 3], tally: 10, z: 'abcdefghijklmnopqrstuvwxyz' }, { u1: 1 });
    const b = put({ weights: [1, 2, 3], tally: 10, z: 'abcdefghijklmnopqrstuvwxyZ' }, { u1: 2 });
    expect(a.find(([k]) => k === 'm/0')).toEqual(b.find(([k]) => k === 'm/0'));
    const v = read([...a, ['m/0', 'poison'], ...b.filter(([k]) => k !== 'm/0')]);
    expect(state(v)).toMatchObject({ meta: { z: 'abcdefghijklmnopqrstuvwxyZ' }, learners: [{ n: 2 }] });
    expect(letters(v)).toEqual(['poison']);
  });

  it("a chunk's good version compacted away: a replay (chunk-missing), no throw", () => {
    // compaction keeps the newest record per key: the poison under m/0, the head and the rest
    const compacted = second.filter(([k]) => k !== 'm/0');
    const v = read([...compacted, ['m/0', 'poison']]);
    expect(v).toMatchObject({ kind: 'fallback', reason: 'chunk-missing' });
    expect(letters(v)).toEqual(['poison']);
    // the replay's first put tombstones what it does not write
    expect(v.kind === 'fallback' && v.stale.sort()).toEqual(['l/u1', 'l/u2', 'm/0', 'm/1']);
  });

  it('a head that does not decode: the previous head; with none left, a replay (head-lost)', () => {
    const v = read([...first, ...second, ['head', 'not json'], ['head', '{"offsets":{}}']]);
    expect(state(v).offsets).toEqual({ 'in:0': '4' });
    expect(letters(v)).toEqual(['not json', '{"offsets":{}}']);
    const lost = read([...second.filter(([k]) => k !== 'head'), ['head', 'not json']]);
    expect(lost).toMatchObject({ kind: 'fallback', reason: 'head-lost' });
  });

  it("a misshapen row: its previous version, rewritten next; with that version gone the head's row count makes it a replay", () => {
    const v = read([...first, ...second, ['l/u2', '{"x":1}']]);
    expect(state(v).learners).toEqual([{ n: 1 }, { n: 3 }]);
    expect(letters(v)).toEqual(['{"x":1}']);
    expect(v.kind === 'state' && v.rows.get('l/u2')).toEqual([1, REWRITE]);
    const gone = read([...second.filter(([k]) => k !== 'l/u2'), ['l/u2', '{"x":1}']]);
    expect(gone).toMatchObject({ kind: 'fallback', reason: 'rows-missing', detail: 'l: 1 rows of 2' });
  });

  it('heads written before hashes: the chunk versions before the head, and a replay when they do not parse', () => {
    const old = put({ weights: [1], tally: 5 }, { u1: 1 }, 2, { hashes: false, counts: false });
    const v = read([...old, ['m/1', 'garbage']]);
    expect(state(v).meta).toEqual({ weights: [1], tally: 5, learners: [] });
    expect(letters(v)).toEqual(['garbage']);
    const broken = read([...old.filter(([k]) => k !== 'm/1'), ['m/1', 'garbage'], old[old.length - 1]]);
    expect(broken).toMatchObject({ kind: 'fallback', reason: 'state-undecodable' });
  });

  it('no head at all is no checkpoint; a deleted group (tombstoned head) too', () => {
    expect(read([]).kind).toBe('none');
    expect(read([...first, ['head', null]]).kind).toBe('none');
  });
});
