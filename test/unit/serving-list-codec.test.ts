import { decodeList, decodeView, encodeList } from '../../lib/serving/listCodec';
import type { RecommendationList } from '../../lib/serving/types';

const list: RecommendationList = {
  userId: 'u "1"',
  modelVersion: 'mf-v1',
  generatedAt: 1795996800100,
  eventTime: 1795996800040,
  source: 'personal',
  items: [
    { resourceId: 'r-1', score: 0.123456789012345, reasons: [{ code: 'matches-interest', text: 'Matches your interest "álgebra ∑"', ref: 'álgebra' }], type: 'video', topics: ['algebra', 'x'], skills: ['linear-eq'] },
    { resourceId: 'r\n2', score: -3, reasons: [] },
    { resourceId: 'r-3', score: 1e-9, reasons: [{ code: 'next-after', text: 'line one\nline two', ref: 'r-1' }, { code: 'popular', text: 'Popular right now' }], topics: [] },
  ],
};

describe('list encoding (format 2)', () => {
  it('round-trips every field, including absent optional ones and newlines inside strings', () => {
    const raw = encodeList(list);
    expect(raw.startsWith('L2\n')).toBe(true);
    expect(raw.split('\n')).toHaveLength(4 + list.items.length);
    expect(decodeList(raw)).toEqual(list);
    const { eventTime: _, ...noEventTime } = list;
    const back = decodeList(encodeList(noEventTime))!;
    expect(back).toEqual(noEventTime);
    expect('eventTime' in back).toBe(false);
    expect(decodeList(encodeList({ ...list, items: [] }))).toEqual({ ...list, items: [] });
  });

  it('gives the ids at once and decodes scores and items only when asked', () => {
    const v = decodeView(encodeList(list))!;
    expect(v.ids).toEqual(['r-1', 'r\n2', 'r-3']);
    expect([0, 1, 2].map((i) => v.score(i))).toEqual([0.123456789012345, -3, 1e-9]);
    expect(v.item(2)).toEqual(list.items[2]);
    expect(v.item(1)).toEqual(list.items[1]);
    expect(v.item(1)).not.toBe(v.item(1));
  });

  it('still reads lists written before it (format 1: the list as one JSON object)', () => {
    const old = JSON.stringify(list);
    expect(decodeList(old)).toEqual(list);
    const v = decodeView(old)!;
    expect(v.ids).toEqual(['r-1', 'r\n2', 'r-3']);
    expect(v.item(0)).toEqual(list.items[0]);
    expect(v.eventTime).toBe(list.eventTime);
  });

  it('is smaller than format 1', () => {
    expect(encodeList(list).length).toBeLessThan(JSON.stringify(list).length);
  });

  it('treats corrupt values as missing, and a corrupt item line as an item without reasons', () => {
    const raw = encodeList(list);
    for (const bad of ['{not json', '{"userId":"u"}', 'L2\n{}', 'L2\n{}\n["a"', 'L2\n{}\n["a"]\n[1]', 'L2\n{}\n[]\n[]\n[[]]', raw.slice(0, raw.lastIndexOf('\n')), raw + '\n[[]]', 'L9\n{}', '']) {
      expect(decodeView(bad)).toBeNull();
    }
    const lines = raw.split('\n');
    lines[4] = '[[["popular"';
    let corrupt = 0;
    const v = decodeView(lines.join('\n'), () => corrupt++)!;
    expect(v.item(0)).toEqual({ resourceId: 'r-1', score: list.items[0].score, reasons: [] });
    expect(v.item(2)).toEqual(list.items[2]);
    expect(corrupt).toBe(1);
    lines[3] = '[1,2';
    const noScores = decodeView(lines.join('\n'), () => corrupt++)!;
    expect(noScores.item(2)).toEqual({ ...list.items[2], score: 0 });
    expect(corrupt).toBe(2);
  });

  it('reads ids with quotes, backslashes and control characters (the slow path) like any other', () => {
    const odd = { ...list, items: ['a"b', 'c\\d', 'e\tf', '","', 'plain'].map((resourceId) => ({ resourceId, score: 1, reasons: [] })) };
    expect(decodeView(encodeList(odd))!.ids).toEqual(odd.items.map((i) => i.resourceId));
    expect(decodeList(encodeList(odd))).toEqual(odd);
  });
});
