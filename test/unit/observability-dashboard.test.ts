/**
 * The Grafana dashboard and the Prometheus rules may only name series that exist: metrics learnstream really exports
 * (derived from createMetrics(new Registry()), not a hand list), recording rules defined in infra/prometheus, or
 * Prometheus' own `up`. Also checks the dashboard is the shape Grafana imports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { bindInstrumentation, createMetrics, type Instrumentation, type InstrumentationEventName } from '../../lib/metrics';

const ROOT = path.resolve(__dirname, '../..');
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'infra/grafana/learnstream.json'), 'utf8'));
const ruleFiles = ['learnstream.rules.yml', 'learnstream.alerts.yml'].map((f) =>
  fs.readFileSync(path.join(ROOT, 'infra/prometheus/rules', f), 'utf8'),
);

/** Every `expr:` of a rules file, including block scalars (`expr: |` followed by more-indented lines). */
function ruleExprs(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(\|)?\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (!m[2]) {
      out.push(m[3]);
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length)) body.push(lines[++i]);
    out.push(body.join('\n'));
  }
  return out;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Series names a PromQL expression selects: identifiers that are not functions, keywords, labels or durations. */
export function seriesNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    if (m[1]) continue; // function call
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

async function exportedSeries(): Promise<Set<string>> {
  const registry = new Registry();
  createMetrics(registry);
  const out = new Set<string>(['up']);
  for (const m of await registry.getMetricsAsJSON()) {
    out.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) out.add(m.name + s);
  }
  return out;
}

const recorded = new Set(ruleFiles.flatMap((t) => [...t.matchAll(/- record: (\S+)/g)].map((m) => m[1])));

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
  gridPos?: { x: number; y: number; w: number; h: number };
}
const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const dashboardExprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('Grafana dashboard', () => {
  it('is an importable dashboard with a Prometheus datasource variable and panels for every area', () => {
    expect(dashboard).toMatchObject({ title: 'learnstream', uid: 'learnstream-overview', schemaVersion: expect.any(Number) });
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const rows = panels
      .filter((p) => p.type === 'row')
      .map((p) => p.title.toLowerCase())
      .join(' | ');
    for (const area of ['api latency', 'errors', 'freshness', 'throughput', 'lag', 'model quality']) expect(rows).toContain(area);
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
  });

  it('queries only series that learnstream exports or infra/prometheus records', async () => {
    const known = await exportedSeries();
    expect(dashboardExprs.length).toBeGreaterThan(25);
    const unknown = dashboardExprs.flatMap(({ panel, expr }) =>
      seriesNames(expr)
        .filter((n) => !known.has(n) && !recorded.has(n))
        .map((n) => `${panel}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('shows every learnstream metric somewhere (directly or through a recording rule)', async () => {
    const known = [...(await exportedSeries())].filter((n) => n.startsWith('learnstream_'));
    const used = new Set([...dashboardExprs.map((e) => e.expr), ...ruleFiles.flatMap(ruleExprs)].flatMap(seriesNames));
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
    const shown = new Set([...used].map(base));
    expect([...new Set(known.map(base))].filter((n) => !shown.has(n))).toEqual([]);
  });
});

describe('Prometheus rules', () => {
  it('name only exported series or other recording rules', async () => {
    const known = await exportedSeries();
    const exprs = ruleFiles.flatMap(ruleExprs);
    expect(exprs.length).toBeGreaterThan(20);
    const unknown = exprs.flatMap((e) => seriesNames(e).filter((n) => !known.has(n) && !recorded.has(n)));
    expect(unknown).toEqual([]);
  });

  it('the series-name extractor ignores functions, labels, durations and grouping', () => {
    expect(
      seriesNames('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route=~"/v1.*",x="by"}[5m]))) / on (job) b:c:d > 0.5 and up'),
    ).toEqual(['a_bucket', 'b:c:d', 'up']);
  });
});

/**
 * Which metrics each instrumentation event feeds: bind the real metrics to a recording emitter, fire each listener once
 * with a generic payload, and see which learnstream_* metrics got a sample.
 */
async function metricsByEvent(): Promise<Map<string, Set<string>>> {
  const listeners = new Map<InstrumentationEventName, (p: never) => void>();
  const recorder = {
    emit: () => undefined,
    listenerCount: () => 0,
    on: (name: InstrumentationEventName, fn: (p: never) => void) => (listeners.set(name, fn), () => undefined),
  } as unknown as Instrumentation;
  const registry = new Registry();
  bindInstrumentation(recorder, createMetrics(registry, { defaultMetrics: false }));
  const strings = new Set(['method', 'route', 'topic', 'type', 'stage', 'source', 'group', 'command', 'model', 'reason']);
  const payload = new Proxy({}, { get: (_t, k) => (k === 'ok' ? true : k === 'delta' ? 1 : strings.has(String(k)) ? 'x' : 1) });
  const fed = new Map<string, Set<string>>();
  for (const [event, fn] of listeners) {
    registry.resetMetrics();
    fn(payload as never);
    for (const m of await registry.getMetricsAsJSON()) {
      if (!m.name.startsWith('learnstream_') || !m.values.some((v) => v.value !== 0)) continue;
      if (!fed.has(m.name)) fed.set(m.name, new Set());
      fed.get(m.name)!.add(event);
    }
  }
  return fed;
}

/** Instrumentation events emitted by product code (not lib/metrics itself, not tests), from the sources. */
function emittedEvents(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !p.startsWith(path.join(ROOT, 'lib', 'metrics'))) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/\.emit\(\s*'([\w.]+)'/g)) out.add(m[1]);
      }
    }
  };
  for (const d of ['api', 'consumers', 'lib', 'models', 'pipelines', 'producers', 'serving']) walk(path.join(ROOT, d));
  return out;
}

describe('metrics that exist on paper only', () => {
  it('every learnstream metric is fed by an instrumentation event that product code emits', async () => {
    const fed = await metricsByEvent();
    const emitted = emittedEvents();
    expect(emitted.size).toBeGreaterThan(10);
    const names = [...(await exportedSeries())].filter((n) => n.startsWith('learnstream_') && !/_(bucket|sum|count)$/.test(n));
    const dead = names
      .filter((n) => ![...(fed.get(n) ?? [])].some((e) => emitted.has(e)))
      .map((n) => `${n} <- ${[...(fed.get(n) ?? ['no event'])].join(', ')}`);
    expect(dead).toEqual([]);
  });

  it('every learnstream metric is described in the runbook (docs/operations.md)', async () => {
    const runbook = fs.readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    const names = [...(await exportedSeries())].filter((n) => n.startsWith('learnstream_') && !/_(bucket|sum|count)$/.test(n));
    expect(names.length).toBeGreaterThan(15);
    expect(names.filter((n) => !runbook.includes(`\`${n}\``))).toEqual([]);
  });
});
