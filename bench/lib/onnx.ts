/**
 * A minimal ONNX model writer: just enough protobuf (varints, length-delimited fields, packed int64) to build a
 * Gemm + TopK scoring graph in code. Writing these ~100 lines beats a dependency on a generated onnx.proto binding
 * (protobufjs + a vendored .proto) for one small graph; field numbers follow onnx/onnx.proto (IR version 8).
 */

class Writer {
  private parts: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.len += b.length;
  }

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    const bytes: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      bytes.push(b);
    } while (x > 0n);
    this.push(Uint8Array.from(bytes));
    return this;
  }

  tag(field: number, wire: 0 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  msg(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const FLOAT = 1;
const INT64 = 7;

/** A named dimension (string) is symbolic, e.g. the batch size. */
type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, elemType).msg(2, shape);
  return new Writer().string(1, name).msg(2, new Writer().msg(1, tensorType));
}

function tensor(name: string, elemType: number, dims: number[], raw: Uint8Array): Writer {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  return w.int(2, elemType).string(8, name).bytes(9, raw);
}

function intAttr(name: string, v: number): Writer {
  return new Writer().string(1, name).int(3, v).int(20, 2 /* INT */);
}

function node(op: string, inputs: string[], outputs: string[], attrs: Writer[] = []): Writer {
  const w = new Writer();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${op}_0`).string(4, op);
  for (const a of attrs) w.msg(5, a);
  return w;
}

/**
 * scores = users[B, dim] x items[n, dim]^T (Gemm, transB=1), then TopK(k) along the item axis.
 * Inputs: `users` float32 [B, dim]; outputs `values` float32 [B, k] and `indices` int64 [B, k].
 * `bias` (optional, [n]) is added to every row of scores (item biases; k-means uses -|c|^2/2 to turn dot into distance).
 * The item matrix is a graph initializer, so it lives in the session (as a serving process would hold it).
 */
export function buildScoreTopKModel(items: Float32Array | null, n: number, dim: number, k: number, bias?: Float32Array): Uint8Array {
  const graph = new Writer().msg(
    1,
    node('Gemm', bias ? ['users', 'items', 'bias'] : ['users', 'items'], ['scores'], [intAttr('transB', 1)]),
  );
  if (bias) graph.msg(5, tensor('bias', FLOAT, [n], new Uint8Array(bias.buffer, bias.byteOffset, n * 4)));
  // items === null: the item matrix is a second input [N, dim], fed per call (a table that changes between calls)
  if (items) graph.msg(5, tensor('items', FLOAT, [n, dim], new Uint8Array(items.buffer, items.byteOffset, n * dim * 4)));
  else graph.msg(11, valueInfo('items', FLOAT, ['N', dim]));
  graph
    .msg(1, node('TopK', ['scores', 'k'], ['values', 'indices'], [intAttr('axis', -1), intAttr('largest', 1), intAttr('sorted', 1)]))
    .string(2, 'score_topk')
    .msg(5, tensor('k', INT64, [1], new Uint8Array(BigInt64Array.of(BigInt(k)).buffer)))
    .msg(11, valueInfo('users', FLOAT, ['B', dim]))
    .msg(12, valueInfo('values', FLOAT, ['B', k]))
    .msg(12, valueInfo('indices', INT64, ['B', k]));
  return new Writer()
    .int(1, 8) // ir_version
    .string(2, 'learnstream-bench')
    .msg(7, graph)
    .msg(8, new Writer().string(1, '').int(2, 17)) // opset_import: default domain, opset 17
    .finish();
}
