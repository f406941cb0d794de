/**
 * The content encoder's runtime: a sentence-embedding model (ONNX graph + Hugging Face tokenizer.json) run by
 * onnxruntime-node. Tokenisation is done by @huggingface/tokenizers (the tokenizer implementation inside
 * @huggingface/transformers), reading the model's own tokenizer.json so ids match what the model was trained on.
 * Pooling and normalisation are the pure functions in lib/encoder/pooling.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PrerequisiteError, ValidationError } from '../errors';
import { poolAndNormalize, type PoolingMode } from './pooling';
import { noopEmitter, type Emitter } from '../metrics/instrumentation';
import { readManifest, REQUIRED_MODEL_FILES, type ModelManifest } from './model-dir';

export interface EncoderOptions {
  /**
   * Texts per ONNX run. Larger batches amortise per-run overhead but pad to the longest text; measured on edx course
   * texts (bench/encoder.ts) 8 beat both 1 and 32 on this 2-core machine. Default 8.
   */
  batchSize?: number;
  /** Word pieces per text including [CLS]/[SEP]; longer texts are truncated. Default: the model's max_seq_length (256 for all-MiniLM-L6-v2), else 256. */
  maxLength?: number;
  /** onnxruntime intra-op threads. Default 1: the pipeline runs several stages on few cores; raise it for batch jobs. */
  threads?: number;
  /** Instrumentation: one `onnx.inference` event per ONNX run. Default: none. */
  emit?: Emitter;
}

/** Inference counters, for metrics and the eval report. */
export interface EncoderStats {
  texts: number;
  batches: number;
  /** Wall time inside tokenisation + session.run + pooling, milliseconds. */
  totalMs: number;
}

/** The part of @huggingface/tokenizers' Tokenizer we use. */
interface Tokenizer {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
}
// The package ships a CommonJS build (exports."."."node".require) but ESM-only typings whose extensionless relative
// imports do not resolve under node16 resolution, so a static import is refused and the types come out unresolved;
// a dynamic import() would need --experimental-vm-modules under jest. require() of the CommonJS build, typed by the
// narrow interface above, works in tsx, jest and compiled output alike.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => Tokenizer;
};

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export class OnnxSentenceEncoder {
  readonly stats: EncoderStats = { texts: 0, batches: 0, totalMs: 0 };
  private closed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    readonly manifest: ModelManifest,
    readonly dim: number,
    private readonly pooling: PoolingMode,
    private readonly maxLength: number,
    private readonly batchSize: number,
    private readonly padId: number,
    private readonly sepId: number,
    private readonly emitter: Emitter,
  ) {}

  /** Loads a model directory (see infra/model/). Throws PrerequisiteError with a hint when it is missing. */
  static async load(dir: string, opts: EncoderOptions = {}): Promise<OnnxSentenceEncoder> {
    const manifest = readManifest(dir);
    if (!manifest) {
      const missing = REQUIRED_MODEL_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
      throw new PrerequisiteError(
        `no sentence-embedding model in ${dir}${missing.length ? ` (missing ${missing.join(', ')})` : ' (no manifest.json)'}`,
        'run `npm run model:install` (or `npm run model:fetch` where the Hugging Face hub is reachable), or set LEARNSTREAM_ENCODER_DIR',
      );
    }
    const tokenizer = new Tokenizer(readJson(path.join(dir, 'tokenizer.json')), readJson(path.join(dir, 'tokenizer_config.json')));
    const stPath = path.join(dir, 'sentence_bert_config.json');
    const modelMax = fs.existsSync(stPath) ? Number(readJson(stPath).max_seq_length) : NaN;
    const poolPath = path.join(dir, '1_Pooling', 'config.json');
    const pool = fs.existsSync(poolPath) ? readJson(poolPath) : {};
    const pooling: PoolingMode = pool.pooling_mode_cls_token === true ? 'cls' : 'mean';
    const dim = Number(pool.word_embedding_dimension ?? 384);
    const threads = opts.threads ?? 1;
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const padId = tokenizer.token_to_id('[PAD]') ?? 0;
    const sepId = tokenizer.token_to_id('[SEP]');
    if (sepId === undefined) throw new PrerequisiteError(`tokenizer in ${dir} has no [SEP] token; only BERT-style models are supported`);
    const maxLength = opts.maxLength ?? (Number.isFinite(modelMax) && modelMax > 0 ? modelMax : 256);
    return new OnnxSentenceEncoder(
      session,
      tokenizer,
      manifest,
      dim,
      pooling,
      maxLength,
      opts.batchSize ?? 8,
      padId,
      sepId,
      opts.emit ?? noopEmitter,
    );
  }

  /** The injectable form models/ use: `embed(texts) => Promise<Float32Array[]>`. */
  readonly embed = (texts: readonly string[]): Promise<Float32Array[]> => this.encode(texts);

  /** Unit-length embeddings, one per text, in input order. */
  async encode(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.closed) throw new ValidationError('encoder is closed');
    const started = performance.now();
    const ids = texts.map((t) => this.tokenIds(t));
    // batch texts of similar length together: padding is wasted compute, and attention is quadratic in length
    const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length || a - b);
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const rows = order.slice(start, start + this.batchSize);
      const vectors = await this.runBatch(rows.map((r) => ids[r]));
      rows.forEach((r, j) => (out[r] = vectors[j]));
      this.stats.batches++;
    }
    this.stats.texts += texts.length;
    this.stats.totalMs += performance.now() - started;
    return out;
  }

  /** Word-piece ids including [CLS]/[SEP], truncated to maxLength. */
  tokenIds(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= this.maxLength) return ids;
    // truncate like the Python tokenizer's truncation=True: keep the head, end with [SEP]
    const cut = ids.slice(0, this.maxLength - 1);
    cut.push(this.sepId);
    return cut;
  }

  private async runBatch(batchIds: number[][]): Promise<Float32Array[]> {
    const batch = batchIds.length;
    const seq = Math.max(1, ...batchIds.map((r) => r.length));
    const inputIds = new BigInt64Array(batch * seq).fill(BigInt(this.padId));
    const mask = new BigInt64Array(batch * seq);
    batchIds.forEach((row, b) => {
      for (let s = 0; s < row.length; s++) {
        inputIds[b * seq + s] = BigInt(row[s]);
        mask[b * seq + s] = 1n;
      }
    });
    const dims = [batch, seq];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    };
    // single-segment input: all zeros; some exports (e.g. distilled models) have no such input at all
    if (this.session.inputNames.includes('token_type_ids'))
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch * seq), dims);
    const started = performance.now();
    const result = await this.session.run(feeds);
    this.emitter.emit('onnx.inference', { model: this.manifest.id, durationMs: performance.now() - started, batchSize: batch });
    const hidden = result[this.session.outputNames[0]];
    try {
      const [, , dim] = hidden.dims;
      return poolAndNormalize(hidden.data as Float32Array, mask, batch, seq, dim, this.pooling);
    } finally {
      for (const t of Object.values(result)) t.dispose();
    }
  }

  /** Releases the native session. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
