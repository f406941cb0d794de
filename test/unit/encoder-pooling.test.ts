import { poolAndNormalize } from '../../lib/encoder/pooling';
import { cosine, meanDirection, normalizeInPlace } from '../../models/content/vector';
import { resourceText } from '../../models/content/text';

describe('poolAndNormalize', () => {
  // batch 2, seq 3, dim 2; row 1 has one padding position holding a value that must be ignored
  const hidden = new Float32Array([1, 0, 3, 0, 5, 4, /* row 1 */ 0, 2, 0, 4, 100, 100]);
  const mask = [1, 1, 1, 1, 1, 0];

  it('averages only unmasked tokens and L2-normalises (sentence-transformers mean pooling)', () => {
    const [a, b] = poolAndNormalize(hidden, mask, 2, 3, 2, 'mean');
    // row 0 mean = (3, 4/3); row 1 mean = (0, 3)
    const n = Math.hypot(3, 4 / 3);
    expect(a[0]).toBeCloseTo(3 / n, 6);
    expect(a[1]).toBeCloseTo(4 / 3 / n, 6);
    expect(Array.from(b)).toEqual([0, 1]);
  });

  it('takes the first token for CLS pooling', () => {
    const [a, b] = poolAndNormalize(hidden, mask, 2, 3, 2, 'cls');
    expect(Array.from(a)).toEqual([1, 0]);
    expect(Array.from(b)).toEqual([0, 1]);
  });

  it('accepts a bigint mask and gives a zero vector for an all-padding row', () => {
    const [a] = poolAndNormalize(new Float32Array([1, 1]), [0n], 1, 1, 2);
    expect(Array.from(a)).toEqual([0, 0]);
  });
});

describe('vector helpers', () => {
  it('normalises, measures cosine and averages directions', () => {
    const v = normalizeInPlace(new Float32Array([3, 4]));
    expect(Array.from(v).map((x) => +x.toFixed(6))).toEqual([0.6, 0.8]);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 0], [0, 0])).toBe(0);
    const m = meanDirection([new Float32Array([1, 0]), new Float32Array([0, 1])])!;
    expect(m[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(meanDirection([])).toBeUndefined();
  });
});

describe('resourceText', () => {
  it('puts title and topics before the description and collapses whitespace', () => {
    expect(resourceText({ title: 'Intro to Python', topics: ['programming', ' python '], description: 'Learn\n  loops.' })).toBe(
      'Intro to Python. Topics: programming, python. Learn loops.',
    );
    expect(resourceText({ title: 'Only a title' })).toBe('Only a title');
  });
});
