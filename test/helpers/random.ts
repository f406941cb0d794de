import { randomBytes } from 'node:crypto';

/**
 * A unique, Kafka- and Redis-safe prefix per test (`t-<label>-<hex>.`), so tests share one broker and one Redis without
 * seeing each other's topics, groups or keys.
 */
export function randomPrefix(label = 'test'): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 24);
  return `t-${safe}-${randomBytes(4).toString('hex')}.`;
}

/** A short random id (hex). */
export function randomId(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}
