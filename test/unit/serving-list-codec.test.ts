import { decodeList, decodeView, encodeList, encodeListFormat2 } from '../../serving/list-codec';
import type { RecommendationList } from '../../serving/types';

const list: RecommendationList = {
  userId: 'u "1"',
  modelVersion: 'mf-v1',
  generatedAt: 1795996800100,
  eventTime: 1795996800040,
  source: 'personal',
  items: [
    {
      resourceId: 'r-1',
      score: 0.123456789012345,
      reasons: [{ code: 'matches-interest', text: 'Matches your interest "álgebra ∑"', ref: 'álgebra' }],
      type: 'video',
      topics: ['algebra', 'x'],
      skills: ['linear-eq'],
    },
    { resourceId: 'r\n2', score: -3, reasons: [] },
    {
      resourceId: 'r-3',
      score: 1e-9,
      reasons: [
        { code: 'next-after', text: 'line one\nline two', ref: 'r-1' },
        { code: 'popular', text: 'Popular right now' },
      ],
      topics: [],
    },
  ],
};

/** A top-n list shaped like the pipeline's: repeated reason texts, types, topics and skills. */
function bigList(n: number): RecommendationList {
  return {
    ...list,
    items: Array.from({ length: n }, (_, i) => ({
      resourceId: `resource-${i}-${'x'.repeat(i % 7)}`,
      score: 1 - i / 1000,
      reasons: [
        { code: 'similar-learners' as const, text: 'Learners like you engaged with this' },
        { code: 'right-level' as const, text: `Right level for skill-${i % 5}: expected success 7${i % 10}%`, ref: `skill-${i % 5}` },
      ],
      type: ['video', 'quiz', 'article'][i % 3],
      topics: [`topic-${i % 4}`, `topic-${(i + 1) % 4}`],
      skills: [`skill-${i % 5}`],
    })),
  };
}

describe('list encoding (format 3, binary)', () => {
  it('round-trips every field, including absent optional ones, empty lists and unicode', () => {
    const raw = encodeList(list);
    expect(Buffer.isBuffer(raw)).toBe(true);
    expect([...raw.subarray(0, 3)]).toEqual([0x4c, 0x33, 0]);
    expect(decodeList(raw)).toEqual(list);
    const { eventTime: _, ...noEventTime } = list;
    const back = decodeList(encodeList(noEventTime))!;
    expect(back).toEqual(noEventTime);
    expect('eventTime' in back).toBe(false);
    expect(decodeList(encodeList({ ...list, items: [] }))).toEqual({ ...list, items: [] });
    // Absent facts stay absent (no key), present-but-empty arrays stay empty arrays, an undefined ref is no ref.
    const item1 = decodeList(raw)!.items[1];
    expect(Object.keys(item1).sort()).toEqual(['reasons', 'resourceId', 'score']);
    expect(decodeList(raw)!.items[2].topics).toEqual([]);
    const undefRef = {
      ...list,
      items: [{ resourceId: 'a', score: 1, reasons: [{ code: 'right-level' as const, text: 'Right level', ref: undefined }] }],
    };
    expect(decodeList(encodeList(undefRef))!.items[0].reasons[0]).toStrictEqual({ code: 'right-level', text: 'Right level' });
    const unicode: RecommendationList = {
      ...list,
      userId: 'learner-😀-ü',
      source: 'cold-start:interests',
      items: [
        {
          resourceId: 'résumé-𝔸',
          score: 0.5,
          reasons: [{ code: 'matches-interest', text: '数学が好き 🧮', ref: '数学' }],
          type: 'vidéo',
          topics: ['数学', ''],
          skills: ['\u0000nul', 'a\u2028b'],
        },
      ],
    };
    expect(decodeList(encodeList(unicode))).toEqual(unicode);
  });

  it('keeps scores exactly, NaN and infinities included, and every source', () => {
    const scores = [0.1, 1 / 3, -0, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity];
    for (const source of ['personal', 'cold-start:interests', 'popular'] as const) {
      const l: RecommendationList = { ...list, source, items: scores.map((score, i) => ({ resourceId: `r${i}`, score, reasons: [] })) };
      const v = decodeView(encodeList(l))!;
      expect(v.source).toBe(source);
      expect(scores.map((_, i) => v.score(i))).toEqual(scores);
      expect(Object.is(v.score(2), -0)).toBe(true);
    }
  });

  it('round-trips long strings (multi-byte length prefixes) and lists with more than 128 strings and items', () => {
    const long = {
      ...list,
      modelVersion: 'm'.repeat(200),
      items: [{ resourceId: 'é'.repeat(9000), score: 1, reasons: [{ code: 'popular' as const, text: 't'.repeat(20_000) }] }],
    };
    expect(decodeList(encodeList(long))).toEqual(long);
    const big = bigList(300);
    expect(decodeList(encodeList(big))).toEqual(big);
    // And after that the shared output buffer still writes small lists correctly.
    expect(decodeList(encodeList(list))).toEqual(list);
  });

  it('gives the ids at once and decodes scores and items only when asked', () => {
    const v = decodeView(encodeList(list))!;
    expect(v.ids).toEqual(['r-1', 'r\n2', 'r-3']);
    expect([0, 1, 2].map((i) => v.score(i))).toEqual([0.123456789012345, -3, 1e-9]);
    expect(v.item(2)).toEqual(list.items[2]);
    expect(v.item(1)).toEqual(list.items[1]);
    expect(v.item(1)).not.toBe(v.item(1));
    expect(v.item(0).topics).not.toBe(v.item(0).topics);
  });

  it('stores each distinct string once and is much smaller than format 2', () => {
    const big = bigList(100);
    const raw = encodeList(big);
    const occurrences = (needle: string) => raw.toString('latin1').split(needle).length - 1;
    expect(occurrences('Learners like you engaged with this')).toBe(1);
    expect(occurrences('topic-3')).toBe(1);
    expect(occurrences('video')).toBe(1);
    expect(raw.length * 2).toBeLessThan(Buffer.byteLength(encodeListFormat2(big)));
  });

  it('follows the layout documented in list-codec.ts', () => {
    const f64 = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)];
    // strings u, m, a, t; header; one id; one score; one item: reason (popular, 't', no ref), no type/topics/skills
    const bytes = [
      0x4c,
      0x33,
      0,
      4,
      1,
      1,
      1,
      1,
      0x75,
      0x6d,
      0x61,
      0x74,
      0,
      1,
      2,
      1,
      ...f64(5),
      ...f64(4),
      1,
      2,
      ...f64(0.5),
      7,
      1,
      4,
      3,
      0,
      0,
      0,
      0,
    ];
    expect(decodeList(Buffer.from(bytes))).toEqual({
      userId: 'u',
      modelVersion: 'm',
      source: 'popular',
      generatedAt: 5,
      eventTime: 4,
      items: [{ resourceId: 'a', score: 0.5, reasons: [{ code: 'popular', text: 't' }] }],
    });
    expect(decodeList(new Uint8Array(bytes))).not.toBeNull();
    const at = bytes.length - 7; // the item: reason count, code, text, ref + 1, type + 1, topics + 1, skills + 1
    const patched = (i: number, v: number) => Buffer.from(bytes.map((b, k) => (k === i ? v : b)));
    // Header or layout broken: the whole value is corrupt.
    expect(decodeView(patched(14, 9))).toBeNull(); // source byte
    expect(decodeView(patched(15, 3))).toBeNull(); // unknown flag
    expect(decodeView(patched(33, 9))).toBeNull(); // id string index out of range
    expect(decodeView(patched(3, 5))).toBeNull(); // string count
    expect(decodeView(patched(at - 1, 8))).toBeNull(); // item length past the end
    expect(decodeView(Buffer.from([...bytes, 0]))).toBeNull(); // trailing byte
    // An item broken inside its own bytes: served with id and score only, and reported.
    for (const [i, v] of [
      [at, 2],
      [at + 1, 99],
      [at + 2, 99],
      [at + 3, 9],
      [at + 4, 9],
      [at + 5, 9],
    ]) {
      let corrupt = 0;
      const view = decodeView(patched(i, v), () => corrupt++)!;
      expect(view.ids).toEqual(['a']);
      expect(view.item(0)).toEqual({ resourceId: 'a', score: 0.5, reasons: [] });
      expect(corrupt).toBe(1);
    }
  });

  it('treats every truncation, and garbage, as missing without throwing', () => {
    const raw = encodeList(list);
    for (let len = 0; len < raw.length; len++) expect(decodeView(raw.subarray(0, len))).toBeNull();
    for (const bad of [
      Buffer.from('L3'),
      Buffer.from([0x4c, 0x33, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x4c, 0x33, 1]),
      Buffer.alloc(0),
      Buffer.from('garbage'),
    ]) {
      expect(decodeView(bad)).toBeNull();
    }
    // Random bytes behind the magic: never an exception, and any view decoded serves every item.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16) & 0xff;
    for (let k = 0; k < 2000; k++) {
      const b = Buffer.from([0x4c, 0x33, 0, ...Array.from({ length: 1 + (k % 60) }, rnd)]);
      const v = decodeView(b);
      if (v) v.ids.forEach((_, i) => v.item(i));
    }
    // Flipping any single byte of a real value never throws either.
    for (let i = 3; i < raw.length; i++) {
      const b = Buffer.from(raw);
      b[i] ^= 0xa5;
      const v = decodeView(b);
      if (v) v.ids.forEach((_, k) => [v.score(k), v.item(k)]);
    }
  });
});

describe('lists written by earlier versions', () => {
  it('still reads format 2 (JSON lines), as text or as the bytes Redis returns', () => {
    const raw = encodeListFormat2(list);
    expect(raw.startsWith('L2\n')).toBe(true);
    expect(raw.split('\n')).toHaveLength(4 + list.items.length);
    expect(decodeList(raw)).toEqual(list);
    expect(decodeList(Buffer.from(raw))).toEqual(list);
    const { eventTime: _, ...noEventTime } = list;
    expect(decodeList(Buffer.from(encodeListFormat2(noEventTime)))).toEqual(noEventTime);
    expect(decodeList(Buffer.from(encodeListFormat2({ ...list, items: [] })))).toEqual({ ...list, items: [] });
    const v = decodeView(Buffer.from(raw))!;
    expect(v.ids).toEqual(['r-1', 'r\n2', 'r-3']);
    expect([0, 1, 2].map((i) => v.score(i))).toEqual([0.123456789012345, -3, 1e-9]);
    expect(v.item(2)).toEqual(list.items[2]);
  });

  it('still reads format 1 (the list as one JSON object)', () => {
    const old = JSON.stringify(list);
    for (const raw of [old, Buffer.from(old)]) {
      expect(decodeList(raw)).toEqual(list);
      const v = decodeView(raw)!;
      expect(v.ids).toEqual(['r-1', 'r\n2', 'r-3']);
      expect(v.item(0)).toEqual(list.items[0]);
      expect(v.eventTime).toBe(list.eventTime);
    }
  });

  it('treats corrupt format 1 and 2 values as missing, and a corrupt format 2 item line as an item without reasons', () => {
    const raw = encodeListFormat2(list);
    for (const bad of [
      '{not json',
      '{"userId":"u"}',
      'L2\n{}',
      'L2\n{}\n["a"',
      'L2\n{}\n["a"]\n[1]',
      'L2\n{}\n[]\n[]\n[[]]',
      raw.slice(0, raw.lastIndexOf('\n')),
      raw + '\n[[]]',
      'L9\n{}',
      '',
    ]) {
      expect(decodeView(bad)).toBeNull();
      expect(decodeView(Buffer.from(bad))).toBeNull();
    }
    const lines = raw.split('\n');
    lines[4] = '[[["popular"';
    let corrupt = 0;
    const v = decodeView(Buffer.from(lines.join('\n')), () => corrupt++)!;
    expect(v.item(0)).toEqual({ resourceId: 'r-1', score: list.items[0].score, reasons: [] });
    expect(v.item(2)).toEqual(list.items[2]);
    expect(corrupt).toBe(1);
    lines[3] = '[1,2';
    const noScores = decodeView(lines.join('\n'), () => corrupt++)!;
    expect(noScores.item(2)).toEqual({ ...list.items[2], score: 0 });
    expect(corrupt).toBe(2);
  });

  it('reads format 2 ids with quotes, backslashes and control characters (the slow path) like any other', () => {
    const odd = { ...list, items: ['a"b', 'c\\d', 'e\tf', '","', 'plain'].map((resourceId) => ({ resourceId, score: 1, reasons: [] })) };
    expect(decodeView(encodeListFormat2(odd))!.ids).toEqual(odd.items.map((i) => i.resourceId));
    expect(decodeList(encodeListFormat2(odd))).toEqual(odd);
    expect(decodeList(encodeList(odd))).toEqual(odd);
  });
});
