import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../lib/errors';
import { ENV_VARS, loadConfig } from '../../lib/config';

describe('loadConfig', () => {
  it('gives working local defaults with no environment', () => {
    const c = loadConfig({ env: {} });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.kafka.managed).toBe(true);
    expect(c.redis.url).toBe('redis://127.0.0.1:16379');
    expect(c.cacheDir).toContain(path.join('.cache', 'learnstream'));
  });

  it('layers defaults < environment < file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-config-'));
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ api: { port: 28080 } }));
    const c = loadConfig({ env: { LEARNSTREAM_API_PORT: '18888', LEARNSTREAM_TOP_N: '50', LEARNSTREAM_CONFIG: file } });
    expect(c.api.port).toBe(28080);
    expect(c.pipeline.topN).toBe(50);
  });

  it('treats an explicit service address as "existing service, start nothing"', () => {
    const c = loadConfig({ env: { LEARNSTREAM_KAFKA_BROKERS: 'k1:9092,k2:9092', LEARNSTREAM_REDIS_URL: 'rediss://r:6380' } });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.kafka.managed).toBe(false);
    expect(c.redis.managed).toBe(false);
    expect(c.registry.managed).toBe(true);
  });

  it('derives local client URLs from stack ports', () => {
    const c = loadConfig({ env: { LEARNSTREAM_KAFKA_PORT: '29092', LEARNSTREAM_REDIS_PORT: '26379', LEARNSTREAM_REGISTRY_PORT: '28081' } });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:29092']);
    expect(c.redis.url).toBe('redis://127.0.0.1:26379');
    expect(c.registry.url).toBe('http://127.0.0.1:28081/apis/ccompat/v7');
    expect(c.kafka.managed).toBe(true);
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      loadConfig({
        env: {
          LEARNSTREAM_KAFKA_PARTITIONS: 'many',
          LEARNSTREAM_API_PORT: '70000',
          LEARNSTREAM_KAFKA_SASL_MECHANISM: 'kerberos',
          LEARNSTREAM_REDIS_URL: 'http://x',
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/LEARNSTREAM_KAFKA_PARTITIONS/);
    expect(problems).toMatch(/api\.port/);
    expect(problems).toMatch(/kafka\.sasl/);
    expect(problems).toMatch(/redis\.url/);
  });

  it('rejects SASL over plaintext and clashing ports (cross-field checks)', () => {
    expect(() =>
      loadConfig({
        env: { LEARNSTREAM_KAFKA_SASL_MECHANISM: 'plain', LEARNSTREAM_KAFKA_SASL_USERNAME: 'u', LEARNSTREAM_KAFKA_SASL_PASSWORD: 'p' },
      }),
    ).toThrow(/ssl/);
    expect(() => loadConfig({ env: { LEARNSTREAM_API_PORT: '16379' } })).toThrow(/distinct/);
  });

  it('parses API keys with scopes from the environment', () => {
    const c = loadConfig({ env: { LEARNSTREAM_API_KEYS: 'frontend-key-1=read,collector-key=read+write' } });
    expect(c.api.apiKeys.map((k) => k.scopes)).toEqual([['read'], ['read', 'write']]);
    expect(c.api.apiKeys.map((k) => k.idPrefix)).toEqual([undefined, undefined]);
  });

  it('binds an API key from the environment to an id prefix after @ (the prefix may hold @ itself)', () => {
    const c = loadConfig({ env: { LEARNSTREAM_API_KEYS: 'tenant-key-1=write@acme:,tenant-key-2=read+write@a@b.' } });
    expect(c.api.apiKeys.map((k) => [k.scopes, k.idPrefix])).toEqual([
      [['write'], 'acme:'],
      [['read', 'write'], 'a@b.'],
    ]);
    expect(() => loadConfig({ env: { LEARNSTREAM_API_KEYS: 'tenant-key-1=write@' } })).toThrow(/idPrefix/);
  });

  it('parses the commented example config', () => {
    const c = loadConfig({ env: {}, file: path.join(__dirname, '..', '..', 'config.example.jsonc') });
    expect(c.kafka.sasl?.mechanism).toBe('scram-sha-512');
    expect(c.kafka.managed).toBe(false);
    expect(c.registry.username).toBe('learnstream');
    expect(c.api.apiKeys.find((k) => k.name === 'acme-catalogue')?.idPrefix).toBe('acme:');
  });

  it('documents every environment variable, in the README too', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const v of ENV_VARS) {
      expect(readme).toContain(`\`${v.name}\``);
      expect(v.name).toMatch(/^LEARNSTREAM_[A-Z0-9_]+$/);
      expect(v.help.length).toBeGreaterThan(5);
    }
  });
});
