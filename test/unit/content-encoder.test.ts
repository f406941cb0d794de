/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * The content encoder runs a real sentence-embedding model (all-MiniLM-L6-v2, ONNX) through onnxruntime-node with the
 * model's own tokenizer.json, and places similar course texts from edx-courses-metadata closer than unrelated ones.
 * Skips (with the reason) when the model cannot be installed or the dataset is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxSentenceEncoder } from '../../lib/encoder/onnx-encoder';
import { readEdxCourses, type EdxCourse } from '../../producers/datasets/edx';
import { cosine } from '../../models/content/vector';
import { resourceText } from '../../models/content/text';
import { encoderDirOrReason } from '../helpers/encoder';

const EDX = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'edx-courses-metadata', 'edx_courses.csv');
const model = encoderDirOrReason();
const skipReason = 'reason' in model ? model.reason : !fs.existsSync(EDX) ? `dataset absent: ${EDX}` : '';
if (skipReason) console.warn(`content-encoder test skipped: ${skipReason}`);
const suite = skipReason ? describe.skip : describe;

const text = (c: EdxCourse) => resourceText({ title: c.title, description: c.summary, topics: [c.subject] });

suite('OnnxSentenceEncoder on edx courses', () => {
  let encoder: OnnxSentenceEncoder;
  let courses: EdxCourse[];
  beforeAll(async () => {
    encoder = await OnnxSentenceEncoder.load((model as { dir: string }).dir);
    courses = readEdxCourses(EDX);
  }, 60_000);
  afterAll(async () => {
    await encoder?.close();
    await encoder?.close(); // idempotent
  });

  it('tokenises with the model vocabulary and returns unit vectors of the model dimension', async () => {
    // bert-base-uncased ids: [CLS] hello world [SEP]; lower-casing comes from tokenizer.json's normalizer
    expect(encoder.tokenIds('Hello World')).toEqual([101, 7592, 2088, 102]);
    expect(encoder.tokenIds('word '.repeat(1000))).toHaveLength(256);
    const [v, w] = await encoder.encode(['Hello world', '']);
    expect(v).toHaveLength(384);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(Math.hypot(...w)).toBeCloseTo(1, 5); // [CLS][SEP] only still embeds
    // batching and ordering must not change a text's vector
    const again = await encoder.encode(['a much longer text that forces padding of the short one', 'Hello world']);
    expect(cosine(again[1], v)).toBeGreaterThan(0.9999);
  });

  it('puts two Python courses closer than a Python course and an art-history course', async () => {
    const find = (re: RegExp) => {
      const c = courses.find((x) => re.test(x.title));
      if (!c) throw new Error(`no course matching ${re}`);
      return c;
    };
    const py1 = find(/Programming for Everybody \(Getting Started with Python\)/);
    const py2 = find(/Python Basics for Data Science/);
    const art = courses.find((x) => x.subject === 'Art & Culture' || x.subject === 'History')!;
    const [a, b, c] = await encoder.encode([text(py1), text(py2), text(art)]);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.2);
  });

  it('same-subject course pairs have a clearly higher mean cosine than different-subject pairs', async () => {
    const subjects = [
      'Computer Science',
      'Biology & Life Sciences',
      'History',
      'Economics & Finance',
      'Language',
      'Physics',
      'Medicine',
      'Math',
    ];
    const picked = subjects.flatMap((s) => courses.filter((c) => c.subject === s).slice(0, 8));
    const vecs = await encoder.encode(picked.map(text));
    let same = 0,
      nSame = 0,
      diff = 0,
      nDiff = 0,
      nnHits = 0;
    for (let i = 0; i < picked.length; i++) {
      let best = -2,
        bestJ = -1;
      for (let j = 0; j < picked.length; j++) {
        if (i === j) continue;
        const s = cosine(vecs[i], vecs[j]);
        if (s > best) [best, bestJ] = [s, j];
        if (j < i) continue;
        if (picked[i].subject === picked[j].subject) [same, nSame] = [same + s, nSame + 1];
        else [diff, nDiff] = [diff + s, nDiff + 1];
      }
      if (picked[bestJ].subject === picked[i].subject) nnHits++;
    }
    const meanSame = same / nSame;
    const meanDiff = diff / nDiff;
    const nnAccuracy = nnHits / picked.length;
    console.log(
      `edx ${picked.length} courses, ${subjects.length} subjects: mean cosine same-subject ${meanSame.toFixed(3)}, different ${meanDiff.toFixed(3)}, nearest-neighbour subject accuracy ${nnAccuracy.toFixed(2)} (chance ${(1 / subjects.length).toFixed(2)})`,
    );
    expect(meanSame).toBeGreaterThan(meanDiff + 0.1);
    expect(nnAccuracy).toBeGreaterThan(0.5);
  }, 120_000); // 64 texts through the real model on a shared 2-core machine
});
