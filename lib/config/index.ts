import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { fromEnv } from './env';
import { configSchema, type Config } from './schema';

export type { Config, ApiKey, Scope } from './schema';
export { SCOPES } from './schema';
export { ENV_VARS } from './env';

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge, later wins; arrays are replaced, not concatenated. */
export function merge(...layers: Tree[]): Tree {
  const out: Tree = {};
  for (const layer of layers) {
    for (const [k, val] of Object.entries(layer)) {
      out[k] = isTree(val) && isTree(out[k]) ? merge(out[k], val) : val;
    }
  }
  return out;
}

/**
 * Loads the configuration: defaults < environment (LEARNSTREAM_*) < optional JSON file (LEARNSTREAM_CONFIG or
 * `opts.file`) < `opts.overrides`. Validates once and throws a ConfigError listing every problem.
 */
export function loadConfig(opts: { env?: NodeJS.ProcessEnv; file?: string; overrides?: Tree } = {}): Config {
  const env = opts.env ?? process.env;
  const { tree: envTree, problems, file: envFile } = fromEnv(env);
  const file = opts.file ?? envFile;
  let fileTree: Tree = {};
  if (file) {
    try {
      const parsed: unknown = JSON.parse(stripLineComments(fs.readFileSync(file, 'utf8')));
      if (!isTree(parsed)) problems.push(`${file}: expected a JSON object`);
      else fileTree = parsed;
    } catch (err) {
      problems.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const merged = merge(envTree, fileTree, opts.overrides ?? {});
  // Pointing at an existing service means we do not manage a local one, unless said otherwise explicitly.
  for (const [svc, field] of [
    ['kafka', 'brokers'],
    ['registry', 'url'],
    ['redis', 'url'],
    ['redis', 'clusterNodes'],
  ] as const) {
    const section = merged[svc];
    if (isTree(section) && section[field] !== undefined && section.managed === undefined) section.managed = false;
  }
  deriveLocalUrls(merged);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const config = result.data;
  if (!config.cacheDir) config.cacheDir = path.join(os.homedir(), '.cache', 'learnstream');
  return config;
}

/** Config files may carry whole-line `//` comments (see config.example.jsonc). */
function stripLineComments(text: string): string {
  return text.replace(/^\s*\/\/.*$/gm, '');
}

/**
 * A managed (local) service's client URL follows its stack port, so LEARNSTREAM_KAFKA_PORT=29092 alone is enough.
 * Explicit URLs always win.
 */
function deriveLocalUrls(merged: Tree): void {
  const stack = isTree(merged.stack) ? merged.stack : {};
  const section = (name: string): Tree => {
    if (!isTree(merged[name])) merged[name] = {};
    return merged[name] as Tree;
  };
  const numberOr = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  const kafka = section('kafka');
  if (kafka.brokers === undefined && stack.kafkaPort !== undefined) kafka.brokers = [`127.0.0.1:${numberOr(stack.kafkaPort, 19092)}`];
  const registry = section('registry');
  if (registry.url === undefined && stack.registryPort !== undefined)
    registry.url = `http://127.0.0.1:${numberOr(stack.registryPort, 18081)}/apis/ccompat/v7`;
  const redis = section('redis');
  if (redis.url === undefined && stack.redisPort !== undefined) redis.url = `redis://127.0.0.1:${numberOr(stack.redisPort, 16379)}`;
}

/** Redacts secrets for logging. */
export function describeConfig(config: Config): Tree {
  const redact = (s?: string) => (s ? '***' : undefined);
  return {
    ...config,
    kafka: { ...config.kafka, sasl: config.kafka.sasl ? { ...config.kafka.sasl, password: '***' } : undefined },
    registry: { ...config.registry, password: redact(config.registry.password) },
    redis: { ...config.redis, url: config.redis.url.replace(/\/\/([^@]*)@/, '//***@'), password: redact(config.redis.password) },
    api: { ...config.api, apiKeys: config.api.apiKeys.map((k) => ({ name: k.name, scopes: k.scopes, idPrefix: k.idPrefix, key: '***' })) },
    privacy: { ...config.privacy, logIdSecret: redact(config.privacy.logIdSecret) },
  };
}
