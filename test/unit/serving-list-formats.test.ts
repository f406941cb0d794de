/**
 * serving/list-codec: one module per storage format and a dispatch by the value's header. Every format round-trips
 * through the one entry point the stores use (decodeStoredView), and only the first bytes decide which reader runs.
 */
import { decodeList, decodeStoredView, decodeView, encodeList, encodeListFormat2, listFormat, listOfView } from '../../serving/list-codec';
import { decodeView1 } from '../../serving/list-codec/format-1';
import { decodeView2 } from '../../serving/list-codec/format-2';
import { decodeView3 } from '../../serving/list-codec/format-3';
import { isCompact } from '../../serving/list-codec/format-4';
import { ListDictionary, memoryDictionaryBackend } from '../../serving/list-dictionary';
import type { RecommendationList } from '../../serving/types';

// Scores 1 and 0: the min and max of format 4's 16-bit scale, kept exactly, so every format reads back the same list.
const list: RecommendationList = {
  userId: 'u-ü "1"',
  modelVersion: 'mf-v2',
  generatedAt: 1795996800100,
  eventTime: 1795996800040,
  source: 'cold-start:interests',
  items: [
    {
      resourceId: 'r-1',
      score: 1,
      reasons: [{ code: 'matches-interest', text: 'Matches your interest in álgebra', ref: 'álgebra' }],
      type: 'video',
      topics: ['algebra'],
      skills: ['linear-eq'],
    },
    { resourceId: 'r-2', score: 0, reasons: [{ code: 'popular', text: 'Popular right now' }], topics: [] },
  ],
};

async function formats(): Promise<{ format: number; raw: Buffer }[]> {
  let four: Buffer = Buffer.alloc(0);
  await new ListDictionary(memoryDictionaryBackend()).write(list, (v) => {
    four = v;
    return Promise.resolve();
  });
  return [
    { format: 1, raw: Buffer.from(JSON.stringify(list)) },
    { format: 2, raw: Buffer.from(encodeListFormat2(list)) },
    { format: 3, raw: encodeList(list) },
    { format: 4, raw: four },
  ];
}

describe('list formats', () => {
  it('every format round-trips through the stores’ entry point, its format named by its header', async () => {
    const backend = memoryDictionaryBackend();
    const writer = new ListDictionary(backend);
    let four: Buffer = Buffer.alloc(0);
    await writer.write(list, (v) => {
      four = v;
      return Promise.resolve();
    });
    const all = (await formats()).map((f) => (f.format === 4 ? { ...f, raw: four } : f));
    for (const { format, raw } of all) {
      expect(listFormat(raw)).toBe(format);
      // a reader in another process: only the shared dictionary in common
      const view = await decodeStoredView(raw, new ListDictionary(backend));
      expect(view && listOfView(view)).toEqual(list);
    }
    // text values (formats 1 and 2 were also stored as strings) name their format the same way
    expect(listFormat(JSON.stringify(list))).toBe(1);
    expect(listFormat(encodeListFormat2(list))).toBe(2);
    expect(decodeList(encodeListFormat2(list))).toEqual(list);
  });

  it('dispatches by the stored header alone', async () => {
    const [one, two, three, four] = await formats();
    // each format's bytes behind another format's header go to that header's reader (and are corrupt there)
    const swap = (raw: Buffer, header: Buffer | string) =>
      Buffer.concat([Buffer.from(header), raw.subarray(typeof header === 'string' ? 0 : 3)]);
    expect(listFormat(swap(three.raw, Buffer.from([0x4c, 0x34, 0])))).toBe(4);
    expect(await decodeStoredView(swap(three.raw, Buffer.from([0x4c, 0x34, 0])), new ListDictionary(memoryDictionaryBackend()))).toBeNull();
    expect(listFormat(swap(four.raw, Buffer.from([0x4c, 0x33, 0])))).toBe(3);
    expect(decodeView(swap(four.raw, Buffer.from([0x4c, 0x33, 0])))).toBeNull();
    // JSON after format 2's header is read as format 2 (and is not a format 2 value), format 2 text after '{' as JSON
    expect(listFormat(Buffer.concat([Buffer.from('L2\n'), one.raw]))).toBe(2);
    expect(decodeView(Buffer.concat([Buffer.from('L2\n'), one.raw]))).toBeNull();
    expect(decodeView(Buffer.concat([Buffer.from('{'), two.raw]))).toBeNull();
    // what each format's own reader gives is what the dispatch gives
    const same = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    same(decodeView(one.raw), decodeView1(one.raw.toString()));
    same(
      decodeView(two.raw),
      decodeView2(two.raw.toString(), () => undefined),
    );
    same(
      decodeView(three.raw),
      decodeView3(three.raw, () => undefined),
    );
    // format 4 needs its dictionary: decodeView (values alone) does not guess at it
    expect(isCompact(four.raw)).toBe(true);
    expect(decodeView(four.raw)).toBeNull();
    // no known header: no reader runs
    for (const raw of [
      Buffer.alloc(0),
      Buffer.from('L5\0'),
      Buffer.from('L3'),
      Buffer.from([0x4c, 0x34]),
      Buffer.from(' {"items":[]}'),
      Buffer.from('[1,2]'),
    ]) {
      expect(listFormat(raw)).toBeNull();
      expect(decodeView(raw)).toBeNull();
      expect(await decodeStoredView(raw, new ListDictionary(memoryDictionaryBackend()))).toBeNull();
    }
  });
});
