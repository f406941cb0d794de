/**
 * Static checks of infra/prometheus with promtool (Debian `prometheus` package): config and rule syntax, the rule unit
 * tests in infra/prometheus/tests (synthetic series → expected alerts), and a runbook section for every alert.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensurePrometheusInstalled } from '../../infra/stack/index';

const DIR = path.resolve(__dirname, '../../infra/prometheus');

describe('promtool', () => {
  let promtool: string;
  // On a fresh machine this installs the Debian package once (apt, serialised by flock); afterwards it is a PATH lookup.
  beforeAll(async () => {
    promtool = (await ensurePrometheusInstalled()).promtool;
  }, 300_000);
  const run = (...args: string[]) => execFileSync(promtool, args, { cwd: DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('accepts prometheus.yml (and the rule files it names)', () => {
    expect(run('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
  });

  it('accepts every rule file', () => {
    const files = fs.readdirSync(path.join(DIR, 'rules')).map((f) => path.join('rules', f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(run('check', 'rules', ...files)).toContain('SUCCESS');
  });

  it('passes the alert unit tests', () => {
    expect(run('test', 'rules', 'tests/alerts.test.yml')).toContain('SUCCESS');
  });
});

it('documents every alert in the runbook (docs/operations.md), under the anchor its runbook_url names', () => {
  const alerts = fs.readFileSync(path.join(DIR, 'rules/learnstream.alerts.yml'), 'utf8');
  const names = [...alerts.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const anchors = [...alerts.matchAll(/runbook_url: docs\/operations\.md#(\S+)/g)].map((m) => m[1]);
  expect(anchors).toEqual(names.map((n) => n.toLowerCase()));
  const runbook = fs.readFileSync(path.resolve(__dirname, '../../docs/operations.md'), 'utf8');
  for (const n of names) expect(runbook).toContain(`### ${n}`);
});

it('tests every alert both firing and not firing (infra/prometheus/tests/alerts.test.yml)', () => {
  const alerts = fs.readFileSync(path.join(DIR, 'rules/learnstream.alerts.yml'), 'utf8');
  const names = [...alerts.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const tests = fs.readFileSync(path.join(DIR, 'tests/alerts.test.yml'), 'utf8');
  // Each alert_rule_test entry is `alertname: X` followed by `exp_alerts: []` (not firing) or a list (firing).
  const cases = [...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:( \[\])?/g)].map((m) => `${m[1]}:${m[2] ? 'quiet' : 'fires'}`);
  for (const n of names) expect(cases).toEqual(expect.arrayContaining([`${n}:fires`, `${n}:quiet`]));
});
