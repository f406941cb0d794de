/**
 * Fast scoring kernels: one learner against all items, then partial top-k. `dotAll` + `topK` are synchronous
 * Float32Array loops; `OnnxTopK` runs the same product and selection on onnxruntime (faster per ranking, async).
 */
export { dotAll } from './dot';
export { topK, rankOf } from './topk';
export { OnnxTopK, type TopKResult } from './onnx-topk';
export { scoreTopKModel } from './onnx-graph';
