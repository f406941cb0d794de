/**
 * Every resource a learner has engaged with, as 32-bit fingerprints in an open-addressing hash set: 4-8 bytes per
 * resource instead of a string, so it needs no bound as short as the history's (a learner with 2,700 ratings holds
 * ~16 KB). Never recommending what a learner already did is what the ranker needs; the history's last 200 missed
 * older engagements. A fingerprint collision (~n / 2^32 per lookup) hides one resource from one learner.
 */
export class EngagedSet {
  private slots: Int32Array;
  private n = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.slots = new Int32Array(cap);
  }

  get size(): number {
    return this.n;
  }

  add(id: string): void {
    this.addFp(fingerprint(id));
  }

  addFp(fp: number): void {
    if (2 * (this.n + 1) > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    for (let i = mix(fp) & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === fp) return;
      if (s === 0) {
        this.slots[i] = fp;
        this.n++;
        return;
      }
    }
  }

  hasFp(fp: number): boolean {
    const mask = this.slots.length - 1;
    for (let i = mix(fp) & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === fp) return true;
      if (s === 0) return false;
    }
  }

  has(id: string): boolean {
    return this.hasFp(fingerprint(id));
  }

  forEach(f: (fp: number) => void): void {
    for (const s of this.slots) if (s !== 0) f(s);
  }

  /** The fingerprints as base64 (checkpoints), sorted: the same set always gives the same bytes. */
  toB64(): string {
    const out = new Int32Array(this.n);
    let k = 0;
    for (const s of this.slots) if (s !== 0) out[k++] = s;
    out.sort();
    return Buffer.from(out.buffer).toString('base64');
  }

  static fromB64(b64: string): EngagedSet {
    const buf = Buffer.from(b64, 'base64');
    const fps = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const s = new EngagedSet(fps.length);
    for (const fp of fps) s.addFp(fp);
    return s;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.n = 0;
    for (const s of old) if (s !== 0) this.addFp(s);
  }
}

/** FNV-1a over the UTF-16 code units, never 0 (0 marks an empty slot). */
export function fingerprint(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h | 0;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
