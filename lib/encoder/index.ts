/** The content encoder runtime (reads files, so it lives in lib/, not models/). */
export { OnnxSentenceEncoder, type EncoderOptions, type EncoderStats } from './onnx-encoder';
export { embedCached } from './cache';
export { DEFAULT_ENCODER_NAME, readManifest, resolveEncoderDir, type ModelManifest } from './model-dir';
