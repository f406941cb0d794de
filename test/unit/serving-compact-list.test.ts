import { encodeCompact, parseCompact, refsOf, viewOfCompact } from '../../serving/compact-list';
import { listOfView } from '../../serving/list-codec';
import { ListDictionary, memoryDictionaryBackend } from '../../serving/list-dictionary';
import { entryOfItem, entryOfModel, entryOfReason } from '../../serving/list-codec/format-4';
import type { RecommendationList } from '../../serving/types';

function topList(userId: string, n: number): RecommendationList {
  return {
    userId,
    items: Array.from({ length: n }, (_, i) => ({
      resourceId: `res-${(i * 7919) % 100_000}`,
      score: 3 - i * 0.01,
      reasons: [
        ...(i % 3 === 0
          ? [{ code: 'matches-interest' as const, text: `Matches your interest in topic-${i % 30}`, ref: `topic-${i % 30}` }]
          : []),
        { code: 'similar-learners' as const, text: 'Learners with similar activity engaged with this' },
      ],
      type: 'video',
      topics: [`topic-${i % 30}`, `topic-${(i + 1) % 30}`],
      skills: [`skill-${i}`],
    })),
    modelVersion: 'm-1',
    generatedAt: 1_700_000_000_000,
    eventTime: 1_699_999_999_950,
    source: 'personal',
  };
}

async function roundTrip(dict: ListDictionary, l: RecommendationList): Promise<{ raw: Buffer; back: RecommendationList | null }> {
  let raw: Buffer = Buffer.alloc(0);
  await dict.write(l, (v) => {
    raw = v;
    return Promise.resolve();
  });
  const reader = new ListDictionary(backend); // another process: only the shared dictionary in common
  const c = parseCompact(raw)!;
  await reader.load(refsOf(c));
  const view = viewOfCompact(c, reader.entry, () => undefined);
  return { raw, back: view && listOfView(view) };
}

let backend = memoryDictionaryBackend();
beforeEach(() => {
  backend = memoryDictionaryBackend();
});

describe('list format 4', () => {
  it('stores a top-100 list with reasons and facts in about 1 KB, everything back but the scores exact', async () => {
    const l = topList('user-123456', 100);
    const { raw, back } = await roundTrip(new ListDictionary(backend), l);
    expect(raw.length).toBeLessThan(1100);
    expect(back).toEqual({ ...l, items: l.items.map((it) => ({ ...it, score: expect.closeTo(it.score, 4) as number })) });
    expect(back!.items[0].score).toBe(3);
    expect(back!.items[99].score).toBe(l.items[99].score);
  });

  it('numbers each entry once across lists and writers', async () => {
    const a = new ListDictionary(backend);
    const b = new ListDictionary(backend);
    const r1 = await a.refsOf(topList('u1', 20));
    const r2 = await b.refsOf(topList('u2', 20));
    expect(Array.from(r2.items)).toEqual(Array.from(r1.items));
    expect(Array.from(r2.reasons)).toEqual(Array.from(r1.reasons));
    expect(a.knownRefs(topList('u3', 20))).not.toBeNull();
  });

  it('numbers new entries in list order (model, then each item and its reasons), a repeated reason once', async () => {
    const asked: string[][] = [];
    const inner = memoryDictionaryBackend();
    const dict = new ListDictionary({ ...inner, assign: (e) => (asked.push(e), inner.assign(e)) });
    const l = topList('u1', 4);
    const r = await dict.refsOf(l);
    const expected = [
      entryOfModel('m-1'),
      ...l.items.flatMap((it, i) => [
        entryOfItem(it),
        ...(i === 0 ? it.reasons.map(entryOfReason) : it.reasons.slice(0, -1).map(entryOfReason)),
      ]),
    ];
    expect(asked).toEqual([expected]);
    // every slot holds its entry's number, the repeated reason's too
    const texts = await inner.lookup([r.model, ...Array.from(r.items), ...Array.from(r.reasons)]);
    expect(texts).toEqual([entryOfModel('m-1'), ...l.items.map(entryOfItem), ...l.items.flatMap((it) => it.reasons.map(entryOfReason))]);
    expect(dict.knownRefs(l)).toEqual(r);
    // a second list asks only for what is new to this writer (and the model entry, as always)
    const l2 = topList('u2', 5);
    await dict.refsOf(l2);
    expect(asked[1]).toEqual([entryOfModel('m-1'), entryOfItem(l2.items[4])]);
  });

  it('sees changed facts of a resource as a new item entry', async () => {
    const dict = new ListDictionary(backend);
    const l = topList('u1', 3);
    const before = await dict.refsOf(l);
    l.items[0].topics = ['other'];
    expect(dict.knownRefs(l)).toBeNull();
    const after = await dict.refsOf(l);
    expect(after.items[0]).not.toBe(before.items[0]);
    expect((await roundTrip(dict, l)).back!.items[0].topics).toEqual(['other']);
  });

  it('reads an empty list and rejects every truncation and trailing bytes', async () => {
    const empty = { ...topList('u', 0) };
    expect((await roundTrip(new ListDictionary(backend), empty)).back).toEqual(empty);
    const { raw } = await roundTrip(new ListDictionary(backend), topList('u', 5));
    for (let len = 3; len < raw.length; len++) expect(parseCompact(raw.subarray(0, len))).toBeNull();
    expect(parseCompact(Buffer.concat([raw, Buffer.from([0])]))).toBeNull();
  });

  it('treats a list whose item entries are unknown as corrupt, a missing reason entry as an item without reasons', async () => {
    const dict = new ListDictionary(backend);
    const l = topList('u', 2);
    const refs = await dict.refsOf(l);
    const raw = encodeCompact(l, { ...refs, items: [refs.items[0], 999] });
    const c = parseCompact(raw)!;
    await dict.load(refsOf(c));
    expect(viewOfCompact(c, dict.entry, () => undefined)).toBeNull();
    let corrupt = 0;
    const c2 = parseCompact(encodeCompact(l, { ...refs, reasons: Array.from(refs.reasons, () => 999) }))!;
    await dict.load(refsOf(c2));
    const v = viewOfCompact(c2, dict.entry, () => corrupt++)!;
    expect(v.item(0)).toEqual({ resourceId: l.items[0].resourceId, score: 3, reasons: [] });
    expect(corrupt).toBe(1);
  });
});
