/**
 * The production units in infra/systemd and infra/k8s name endpoints and commands that really exist: every probe path
 * of the manifests answers 200 on the real API (with Kafka failing, so a Kafka outage keeps it ready) and on the real
 * pipeline metrics server; the commands are the ones `npm start` runs; restarts never give up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { serveMetrics } from '../../lib/metrics';
import { MemoryServingStore } from '../../serving/memory-store';

const INFRA = path.join(__dirname, '..', '..', 'infra');
const read = (...p: string[]) => fs.readFileSync(path.join(INFRA, ...p), 'utf8');

/** `httpGet: { path: X, port: Y }` of a manifest, with the probe kind (startupProbe, livenessProbe, ...). */
function probes(manifest: string): { kind: string; path: string }[] {
  return [...manifest.matchAll(/(\w+Probe):\s*\n\s*httpGet: \{ path: '?([^',}]+)'?, port: \w+ \}/g)].map((m) => ({ kind: m[1], path: m[2] }));
}

describe('infra/k8s', () => {
  let api: RunningApi | undefined;
  afterAll(async () => api?.stop());

  it('every API probe answers 200 on the real API while Kafka is down, liveness on /healthz, readiness on /readyz', async () => {
    const manifest = read('k8s', 'api.yaml');
    const found = probes(manifest);
    expect(found.map((p) => p.kind).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
    expect(found.find((p) => p.kind === 'livenessProbe')?.path).toBe('/healthz');
    expect(found.find((p) => p.kind === 'readinessProbe')?.path).toMatch(/^\/readyz/);
    const store = new MemoryServingStore();
    api = await startApi({
      config: loadConfig({ env: {} }),
      store,
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error', write: () => undefined }),
      health: { redis: () => store.ping(), kafka: () => Promise.reject(new Error('ECONNREFUSED')) },
    });
    for (const p of found) {
      const res = await fetch(`http://127.0.0.1:${api.port}${p.path}`);
      expect([p.kind, p.path, res.status]).toEqual([p.kind, p.path, 200]);
    }
    expect(manifest).toContain("command: [node, --import, tsx, api/server.ts]");
    expect(manifest).toMatch(/LEARNSTREAM_API_HOST, value: 0\.0\.0\.0/);
    expect(manifest).toMatch(/LEARNSTREAM_API_PORT, value: '18080'/);
    expect(manifest).toMatch(/containerPort: 18080/);
  });

  it('every pipeline probe answers 200 on the real metrics server', async () => {
    const manifest = read('k8s', 'pipeline.yaml');
    const found = probes(manifest);
    expect(found.map((p) => p.kind).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
    const server = await serveMetrics(new Registry(), 0);
    try {
      for (const p of found) {
        const res = await fetch(`http://127.0.0.1:${server.port}${p.path}`);
        expect([p.kind, p.path, res.status]).toEqual([p.kind, p.path, 200]);
      }
    } finally {
      await server.close();
    }
    expect(manifest).toContain('command: [node, --import, tsx, pipelines/main.ts, --stage, all, --state-dir, /var/lib/learnstream/state]');
    expect(manifest).toMatch(/LEARNSTREAM_METRICS_HOST, value: 0\.0\.0\.0/);
    expect(manifest).toMatch(/restartPolicy: Always/);
  });
});

describe('infra/systemd', () => {
  it.each([
    ['learnstream-pipeline.service', 'pipelines/main.ts --stage all --state-dir /var/lib/learnstream/state'],
    ['learnstream-api.service', 'api/server.ts'],
  ])('%s runs %s, restarts always with a growing delay and never gives up', (unit, args) => {
    const text = read('systemd', unit);
    expect(text).toContain(`ExecStart=/usr/bin/node --import tsx ${args}\n`);
    expect(text).toContain('Restart=always\n');
    expect(text).toContain('StartLimitIntervalSec=0\n');
    expect(text).toMatch(/RestartSec=1s\nRestartSteps=5\nRestartMaxDelaySec=30s\n/);
    expect(text).toContain('PartOf=learnstream.target\n');
  });
});
