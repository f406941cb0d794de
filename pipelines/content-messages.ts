/**
 * Records of the internal compacted topic model.content-vectors (key resourceId): the catalogue stage's unit content
 * vector of each active resource, so that every learner instance can match declared interests against resource text
 * without running the encoder over the catalogue itself. Raw little-endian Float32 bytes: 1,536 bytes for 384 dims,
 * a quarter less than base64 JSON, and nothing else travels with the vector. A tombstone removes the resource.
 * Kept apart from pipelines/messages.ts: item rows are rebroadcast on every gradient, a content vector only when the
 * text changes, so carrying vectors on model.item-factors would multiply that topic's volume.
 */
export function encodeContentVector(v: Float32Array): Buffer {
  return Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

export function decodeContentVector(buf: Buffer): Float32Array {
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools may hand out unaligned offsets.
  const out = new Float32Array(buf.byteLength >>> 2);
  new Uint8Array(out.buffer).set(buf.subarray(0, out.byteLength));
  return out;
}
