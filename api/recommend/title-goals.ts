/**
 * Free-text goals in scripts the content encoder was not trained on. The encoder (all-MiniLM-L6-v2) is English-only:
 * a Chinese goal such as "二次方程式" embeds to a vector that means nothing against the catalogue's vectors, and no
 * multilingual sentence model is available to this deployment (the model cache holds the English one only; nothing
 * may be fetched at run time). Such a goal is resolved instead by character bigrams against the resources' titles
 * (Dice coefficient of the two bigram multisets, 0..1; a one-character goal compares unigrams), which works for any
 * catalogue whose titles are in the goal's script. The answer says which resolver ran (`method`).
 */
import type { CurriculumNode, CurriculumStore } from '../../serving/curriculum';
import type { TextGoalResolver, TextMatch } from './text-goals';

/** Han, Hiragana, Katakana, Hangul: scripts without spaces between words, which the English encoder does not read. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

export function hasCjk(text: string): boolean {
  return CJK.test(text);
}

/** Character n-grams of the text without spaces and punctuation (n = 2, or 1 for a single character). */
function grams(text: string, n: number): Map<string, number> {
  const chars = [...text.toLowerCase().normalize('NFKC')].filter((c) => /[\p{L}\p{N}]/u.test(c));
  const out = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

/** Dice coefficient of two gram multisets. */
function dice(a: Map<string, number>, b: Map<string, number>): number {
  let common = 0;
  let na = 0;
  let nb = 0;
  for (const v of a.values()) na += v;
  for (const v of b.values()) nb += v;
  for (const [g, v] of a) common += Math.min(v, b.get(g) ?? 0);
  return na + nb === 0 ? 0 : (2 * common) / (na + nb);
}

export interface TitleGoalsOptions {
  curriculum: CurriculumStore;
  /** The titles are re-read at most this often (ms). Default 30,000. */
  refreshMs?: number;
  now?: () => number;
}

/** Nearest resources by title bigrams; `cosine` carries the Dice score (same 0..1 scale, same threshold). */
export function titleNgramTextGoals(o: TitleGoalsOptions): TextGoalResolver {
  const now = o.now ?? Date.now;
  const refreshMs = o.refreshMs ?? 30_000;
  let cache: { at: number; nodes: CurriculumNode[]; grams: Map<number, Map<string, number>[]> } | undefined;
  return {
    async nearest(text, k) {
      if (!cache || now() - cache.at >= refreshMs) cache = { at: now(), nodes: await o.curriculum.listCurriculumNodes(), grams: new Map() };
      const n = [...text.replace(/[^\p{L}\p{N}]/gu, '')].length > 1 ? 2 : 1;
      let titles = cache.grams.get(n);
      if (!titles) cache.grams.set(n, (titles = cache.nodes.map((x) => grams(x.title, n))));
      const q = grams(text, n);
      const out: TextMatch[] = [];
      cache.nodes.forEach((node, i) => {
        const s = dice(q, titles[i]);
        if (s > 0) out.push({ resourceId: node.resourceId, cosine: s, method: 'title-ngram' });
      });
      out.sort((a, b) => b.cosine - a.cosine || (a.resourceId < b.resourceId ? -1 : 1));
      return out.slice(0, k);
    },
  };
}

/** CJK text goes to the title matcher, everything else to the encoder. */
export function scriptAwareTextGoals(encoder: TextGoalResolver, titles: TextGoalResolver): TextGoalResolver {
  return { nearest: (text, k) => (hasCjk(text) ? titles.nearest(text, k) : encoder.nearest(text, k)) };
}
