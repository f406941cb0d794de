/**
 * The text a resource is embedded from. The order (title, topics, description) puts the most informative words
 * first, because the encoder truncates long inputs (256 word pieces for all-MiniLM-L6-v2) from the end.
 */
export interface ResourceText {
  title: string;
  description?: string;
  topics?: readonly string[];
}

/** Upper bound on characters passed to the tokenizer; past ~256 word pieces the rest is truncated anyway. */
export const MAX_TEXT_CHARS = 2000;

export function resourceText(r: ResourceText): string {
  const parts = [r.title.trim()];
  const topics = (r.topics ?? []).map((t) => t.trim()).filter(Boolean);
  if (topics.length > 0) parts.push(`Topics: ${topics.join(', ')}.`);
  const desc = r.description?.replace(/\s+/g, ' ').trim();
  if (desc) parts.push(desc);
  const text = parts.filter(Boolean).join('. ').replace(/\.\./g, '.');
  return text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
}

/** An injected text encoder: unit-length vectors, one per text, same order. Implemented by lib/encoder. */
export type EmbedFn = (texts: readonly string[]) => Promise<Float32Array[]>;
