/**
 * Exact, compact serialization of model state. Float32Array goes through its raw bytes (base64), so a restored
 * snapshot is bit-identical to the one written: crash-equivalence to 1e-6 needs no rounding anywhere.
 */
export function f32ToB64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function b64ToF32(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools may hand out unaligned offsets.
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
