/**
 * Exactly-once per eventId: the eventIds a learner's most recent events carried, so that a retry of an event already
 * applied (a client re-posting a batch after a timeout or a 503, the Publisher or kafkajs re-sending after a lost
 * acknowledgement) changes nothing. Part of the learner's state: checkpointed with it, replayed with it, erased with
 * it.
 *
 * The window is a count, not a time: the last DEDUP_WINDOW events (interactions and quiz attempts together) applied
 * to the learner. A count keeps memory bounded per learner whatever their rate, and replay stays deterministic (it
 * depends on the learner's own event sequence only, never on a clock). 512 covers a whole collector batch of one
 * learner (api.maxBatchEvents, default 500) retried at once; at a few events a minute it is hours of retries.
 *
 * Entries are 64-bit hashes of the eventId (8 bytes each whatever the id's length, up to 128 characters), not the
 * strings: 4 KiB per learner at most in memory, about 5.5 KB in the checkpoint. Two different eventIds of one learner
 * share a hash with probability 2^-64 per pair, so a distinct event within the window is taken for a duplicate with
 * probability below 512 / 2^64 ≈ 3e-17.
 */
import { InvariantError } from '../../lib/errors';

/** Events per learner whose eventIds are remembered. */
export const DEDUP_WINDOW = 512;

const INITIAL = 8;

/** 64-bit hash of a string as two 32-bit halves (cyrb53's two lanes, both kept): fast, well mixed, not cryptographic. */
function hash64(s: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}

/**
 * A ring of the last `max` eventId hashes, oldest overwritten first. Grows by doubling up to `max`, so a learner with
 * three events holds three entries' worth, not 512.
 */
export class EventIdWindow {
  /** Two words per entry. Until full, entries are 0..size-1 in order; once full, `next` is the oldest. */
  private h: Uint32Array;
  private size = 0;
  private next = 0;

  constructor(
    private readonly max = DEDUP_WINDOW,
    initial: Uint32Array = new Uint32Array(2 * Math.min(INITIAL, max)),
  ) {
    if (max < 1) throw new InvariantError('EventIdWindow needs room for at least one entry');
    this.h = initial;
  }

  get length(): number {
    return this.size;
  }

  /** Records `eventId` and returns true, or returns false (recording nothing) when it is in the window already. */
  add(eventId: string): boolean {
    const [a, b] = hash64(eventId);
    const h = this.h;
    for (let i = 0; i < 2 * this.size; i += 2) if (h[i] === a && h[i + 1] === b) return false;
    if (this.size < this.max) {
      if (2 * this.size === h.length) {
        const grown = new Uint32Array(2 * Math.min(this.max, Math.max(1, this.size) * 2));
        grown.set(h);
        this.h = grown;
      }
      this.h[2 * this.size] = a;
      this.h[2 * this.size + 1] = b;
      this.size++;
      return true;
    }
    h[2 * this.next] = a;
    h[2 * this.next + 1] = b;
    this.next = (this.next + 1) % this.max;
    return true;
  }

  /** The hashes oldest first, as base64 of little-endian u32 pairs (the checkpoint form). */
  toB64(): string {
    const n = this.size;
    const out = new Uint32Array(2 * n);
    if (n < this.max || this.next === 0) out.set(this.h.subarray(0, 2 * n));
    else {
      out.set(this.h.subarray(2 * this.next, 2 * n));
      out.set(this.h.subarray(0, 2 * this.next), 2 * (n - this.next));
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
  }

  static fromB64(s: string, max = DEDUP_WINDOW): EventIdWindow {
    const bytes = Buffer.from(s, 'base64');
    const all = new Uint32Array((bytes.length >>> 3) << 1);
    new Uint8Array(all.buffer).set(bytes.subarray(0, all.byteLength));
    // a checkpoint written with a larger window keeps its newest entries
    const keep = all.subarray(Math.max(0, all.length - 2 * max));
    const w = new EventIdWindow(max, keep.length > 0 ? Uint32Array.from(keep) : undefined);
    w.size = keep.length >>> 1;
    w.next = 0; // full: index 0 is the oldest; not full: next is unused
    return w;
  }
}
