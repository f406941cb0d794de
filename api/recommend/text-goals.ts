/**
 * Free-text goals ("quadratic equations", "二次方程式"): the content encoder embeds the text, which is compared with the
 * resources' content vectors the catalogue stage stored (the same encoder embedded their title, topics and
 * description, so the cosines are comparable). The API process loads the encoder on the first free-text goal, not at
 * start-up (~100 MB and a second or two that most requests never need), and reloads the vectors only when their
 * version in the store moved.
 */
import type { EmbedFn } from '../../models/content/text';
import { dot } from '../../models/content/vector';
import type { CurriculumStore } from '../../serving/curriculum';

export interface TextMatch {
  resourceId: string;
  cosine: number;
  /** Which resolver found it: the content encoder (cosine of embeddings, the default) or title bigrams (./title-goals.ts). */
  method?: 'encoder' | 'title-ngram';
}

/** What the path route needs: the nearest resources to a text, or why it cannot say. */
export interface TextGoalResolver {
  /** Up to `k` resources by descending cosine; throws EncoderUnavailableError when there is no encoder. */
  nearest(text: string, k: number): Promise<TextMatch[]>;
}

export class EncoderUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`free-text goals need the content encoder, which is not available: ${reason}`);
    this.name = 'EncoderUnavailableError';
  }
}

export interface EncoderTextGoalsOptions {
  curriculum: CurriculumStore;
  /** Loads the encoder; called once, again only after a failure (a model installed later is then picked up). */
  loadEmbed: () => Promise<EmbedFn>;
  /** After a failed load, the next attempt waits this long (ms), so a missing model is not re-read per request. Default 30,000. */
  retryAfterMs?: number;
  now?: () => number;
}

export function encoderTextGoals(o: EncoderTextGoalsOptions): TextGoalResolver {
  const now = o.now ?? Date.now;
  const retryMs = o.retryAfterMs ?? 30_000;
  let embed: Promise<EmbedFn> | undefined;
  let failed: { at: number; reason: string } | undefined;
  let vectors: { version: number; ids: string[]; rows: Float32Array[] } | undefined;

  const encoder = async (): Promise<EmbedFn> => {
    if (failed && now() - failed.at < retryMs) throw new EncoderUnavailableError(failed.reason);
    embed ??= o.loadEmbed();
    try {
      return await embed;
    } catch (err) {
      embed = undefined;
      failed = { at: now(), reason: err instanceof Error ? err.message.split('\n')[0] : String(err) };
      throw new EncoderUnavailableError(failed.reason);
    }
  };

  return {
    async nearest(text, k) {
      const [[q], fresh] = await Promise.all([encoder().then((e) => e([text])), o.curriculum.getContentVectors(vectors?.version)]);
      if (fresh) vectors = { version: fresh.version, ids: [...fresh.vectors.keys()], rows: [...fresh.vectors.values()] };
      const v = vectors!;
      const out: TextMatch[] = [];
      for (let i = 0; i < v.ids.length; i++) {
        if (v.rows[i].length !== q.length) continue; // a vector from another model: never compared
        out.push({ resourceId: v.ids[i], cosine: dot(q, v.rows[i]), method: 'encoder' }); // both unit length
      }
      out.sort((a, b) => b.cosine - a.cosine || (a.resourceId < b.resourceId ? -1 : 1));
      return out.slice(0, k);
    },
  };
}
