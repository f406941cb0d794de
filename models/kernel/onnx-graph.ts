/**
 * A minimal ONNX model, encoded by hand (protobuf wire format): scores = U x Q^T + mask
 * (Gemm, transB = 1) then TopK. Hand-encoding ~60 lines beats adding an ONNX builder dependency for one tiny graph.
 */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const int = (field: number, v: number) => [...key(field, 0), ...varint(v)];
const bytes = (field: number, b: number[]) => [...key(field, 2), ...varint(b.length), ...b];
const utf8 = new TextEncoder();
const str = (field: number, s: string) => bytes(field, [...utf8.encode(s)]);

/** dims: number = fixed size, string = symbolic */
function valueInfo(name: string, elemType: number, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, elemType), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

function node(op: string, inputs: string[], outputs: string[], attrs: number[][] = []): number[] {
  return [...inputs.flatMap((i) => str(1, i)), ...outputs.flatMap((o) => str(2, o)), ...str(4, op), ...attrs.flatMap((a) => bytes(5, a))];
}

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;

/**
 * Gemm(U[b,d], Q[n,d], transB) + M[mb,n] -> TopK(K) along the items -> values[b,k], indices[b,k]. `b` learners are
 * scored in one call (one matrix product reads each item row once for all of them); M is either one row shared by
 * all learners (mb = 1, broadcast) or one row per learner (mb = b, per-learner exclusions).
 */
export function scoreTopKModel(dim: number): Uint8Array {
  const transB = [...str(1, 'transB'), ...int(20, ATTR_INT), ...int(3, 1)];
  const graph = [
    ...bytes(1, node('Gemm', ['U', 'Q', 'M'], ['S'], [transB])),
    ...bytes(1, node('TopK', ['S', 'K'], ['values', 'indices'])),
    ...str(2, 'score_topk'),
    ...bytes(11, valueInfo('U', FLOAT, ['b', dim])),
    ...bytes(11, valueInfo('Q', FLOAT, ['n', dim])),
    ...bytes(11, valueInfo('M', FLOAT, ['mb', 'n'])),
    ...bytes(11, valueInfo('K', INT64, [1])),
    ...bytes(12, valueInfo('values', FLOAT, ['b', 'k'])),
    ...bytes(12, valueInfo('indices', INT64, ['b', 'k'])),
  ];
  return modelOf(graph);
}

/**
 * Gemm(U[b,d], Q[n,d], transB) + M[mb,n] -> S[b,n], the scores alone: the learner stage selects its top k from them
 * in JS (models/kernel/select.ts), cheaper than onnxruntime's TopK at the k it asks for (300 of 10k: 0.13 ms of TopK
 * per learner against 0.02 ms for the product).
 */
export function scoreModel(dim: number): Uint8Array {
  const transB = [...str(1, 'transB'), ...int(20, ATTR_INT), ...int(3, 1)];
  const graph = [
    ...bytes(1, node('Gemm', ['U', 'Q', 'M'], ['S'], [transB])),
    ...str(2, 'score'),
    ...bytes(11, valueInfo('U', FLOAT, ['b', dim])),
    ...bytes(11, valueInfo('Q', FLOAT, ['n', dim])),
    ...bytes(11, valueInfo('M', FLOAT, ['mb', 'n'])),
    ...bytes(12, valueInfo('S', FLOAT, ['b', 'n'])),
  ];
  return modelOf(graph);
}

function modelOf(graph: number[]): Uint8Array {
  const model = [...int(1, 8), ...str(2, 'learnstream'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...int(2, 13)])];
  return Uint8Array.from(model);
}
