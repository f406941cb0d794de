/**
 * The production units in infra/systemd and infra/k8s name endpoints and commands that really exist: every probe path
 * of the manifests answers 200 on the real API (with Kafka failing, so a Kafka outage keeps it ready) and on the real
 * pipeline metrics server; the commands are the ones `npm start` runs (lib/config/layout.ts: the item/catalogue/
 * experiment process and one learner instance per core); restarts never give up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { pipelineProcesses } from '../../lib/config/layout';
import { createLogger } from '../../lib/log';
import { serveMetrics } from '../../lib/metrics';
import { parseArgs } from '../../pipelines/main';
import { MemoryServingStore } from '../../serving/memory-store';

const INFRA = path.join(__dirname, '..', '..', 'infra');
const read = (...p: string[]) => fs.readFileSync(path.join(INFRA, ...p), 'utf8');

/** `httpGet: { path: X, port: Y }` of a manifest, with the probe kind (startupProbe, livenessProbe, ...). */
function probes(manifest: string): { kind: string; path: string }[] {
  return [...manifest.matchAll(/(\w+Probe):\s*\n\s*httpGet: \{ path: '?([^',}]+)'?, port: \w+ \}/g)].map((m) => ({
    kind: m[1],
    path: m[2],
  }));
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
    expect(manifest).toContain('command: [node, --import, tsx, api/server.ts]');
    expect(manifest).toMatch(/LEARNSTREAM_API_HOST, value: 0\.0\.0\.0/);
    expect(manifest).toMatch(/LEARNSTREAM_API_PORT, value: '18080'/);
    expect(manifest).toMatch(/containerPort: 18080/);
  });

  it.each([
    ['pipeline.yaml', "--stage, 'item,catalog,experiment', --state, kafka, --state-dir, /var/lib/learnstream/state]"],
    [
      'learner.yaml',
      "--stage, learner, --instance, $(LEARNER_INSTANCE), --metrics-port, '19464', --state, kafka, --state-dir, /var/lib/learnstream/state]",
    ],
  ])("every probe of %s answers 200 on the real metrics server; it runs the layout's process", async (file, args) => {
    const manifest = read('k8s', file);
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
    expect(manifest).toContain(`command: [node, --import, tsx, pipelines/main.ts, ${args}`);
    expect(manifest).toMatch(/LEARNSTREAM_METRICS_HOST, value: 0\.0\.0\.0/);
    expect(manifest).toMatch(/restartPolicy: Always/);
    expect(read('k8s', 'kustomization.yaml')).toContain(`  - ${file}\n`);
  });

  it("the layout of lib/config/layout.ts: the stages of npm start's processes, the learner pod ordinal as its instance", () => {
    const config = loadConfig({ env: {}, overrides: { pipeline: { learnerInstances: 2 } } });
    const [pipeline, learner] = pipelineProcesses(config);
    expect(read('k8s', 'pipeline.yaml')).toContain(`--stage, '${pipeline.stages}'`);
    expect(learner.args.slice(0, 3)).toEqual(['--stage', 'learner', '--instance']);
    expect(read('k8s', 'learner.yaml')).toContain('fieldPath: "metadata.labels[\'apps.kubernetes.io/pod-index\']"');
    expect(parseArgs(['--stage', 'learner', '--instance', '3', '--metrics-port', '19464']).metricsPort).toBe(19464);
    // state in Kafka unless files are asked for (npm start's layout passes nothing)
    expect(parseArgs(learner.args).state).toBe('kafka');
    expect(parseArgs(pipeline.args).state).toBe('kafka');
    expect(parseArgs(['--state-dir', '/tmp/x']).state).toBe('kafka');
    expect(parseArgs(['--state', 'files']).state).toBe('files');
    expect(parseArgs(['--changelog']).state).toBe('kafka');
    expect(() => parseArgs(['--state', 'disk'])).toThrow('--state must be kafka or files');
  });
});

describe('infra/systemd', () => {
  it.each([
    [
      'learnstream-pipeline.service',
      'pipelines/main.ts --stage item,catalog,experiment --state kafka --state-dir /var/lib/learnstream/state --learner-peers ${LEARNSTREAM_LEARNER_PEERS}',
    ],
    [
      'learnstream-learner@.service',
      'pipelines/main.ts --stage learner --instance %i --state kafka --state-dir /var/lib/learnstream/state',
    ],
    ['learnstream-api.service', 'api/server.ts'],
  ])('%s runs %s, restarts always with a growing delay and never gives up', (unit, args) => {
    const text = read('systemd', unit);
    expect(text).toContain(`ExecStart=/usr/bin/node --import tsx ${args}\n`);
    expect(text).toContain('Restart=always\n');
    expect(text).toContain('StartLimitIntervalSec=0\n');
    expect(text).toMatch(/RestartSec=1s\nRestartSteps=5\nRestartMaxDelaySec=30s\n/);
    expect(text).toContain('PartOf=learnstream.target\n');
  });

  it('the target starts the pipeline, one learner instance per core of the env example and the API; the peers are their ports', () => {
    const env = Object.fromEntries(
      read('systemd', 'learnstream.env.example')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const n = Number(env.LEARNSTREAM_LEARNER_INSTANCES);
    const config = loadConfig({
      env: {},
      overrides: { metrics: { port: Number(env.LEARNSTREAM_METRICS_PORT) }, pipeline: { learnerInstances: n } },
    });
    const learners = pipelineProcesses(config).filter((p) => p.instance !== undefined);
    expect(env.LEARNSTREAM_LEARNER_PEERS).toBe(learners.map((l) => l.metricsPort).join(','));
    const wants = /^Wants=(.*)$/m.exec(read('systemd', 'learnstream.target'))?.[1].split(' ') ?? [];
    expect(wants.sort()).toEqual(
      [
        'learnstream-api.service',
        'learnstream-pipeline.service',
        ...learners.map((l) => `learnstream-learner@${l.instance}.service`),
      ].sort(),
    );
    expect(parseArgs(['--stage', 'item,catalog,experiment', '--learner-peers', '']).learnerPeers).toEqual([]);
  });
});
