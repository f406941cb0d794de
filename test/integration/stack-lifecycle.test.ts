/**
 * The local stack's promises to whoever runs it, against the real running services: `up` on a running stack is a
 * no-op, and `down` from a checkout that did not start the services (another data dir, so no pid records of its own)
 * stops nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stackDown, stackReachable, stackStatus, stackUp } from '../../infra/stack/index';
import { testConfig } from '../helpers';

jest.setTimeout(60_000);

describe('local stack lifecycle (real services)', () => {
  it('up on a running stack starts nothing and takes seconds at most', async () => {
    const config = testConfig('stack-up');
    const res = await stackUp(config, { reuseReachable: true });
    expect(res.started).toEqual([]);
    for (const service of ['kafka', 'registry', 'redis'] as const)
      expect(['running', 'reused', 'external']).toContain(res.outcomes[service]);
    expect(res.seconds).toBeLessThan(10);
  });

  it('down from a checkout that did not start the services stops none of them', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-other-checkout-'));
    try {
      const config = testConfig('stack-down', { dataDir: other });
      const before = await stackStatus(config);
      expect(before.filter((s) => s.service !== 'prometheus').every((s) => s.reachable)).toBe(true);
      // nothing here was started from `other`: no pid of ours for any service
      expect(before.every((s) => s.pid === undefined)).toBe(true);
      const res = await stackDown(config);
      for (const service of ['kafka', 'registry', 'redis', 'prometheus'] as const) expect(res[service]).toBe('not running');
      expect(await stackReachable(config)).toBe(true);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
