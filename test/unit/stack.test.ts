/** The local stack's pure parts and process bookkeeping; starting real services is covered by the integration tests. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config';
import { PrerequisiteError } from '../../lib/errors';
import { plannedTopics } from '../../lib/kafka/topics';
import { mavenReason } from '../../infra/stack/download';
import { newClusterId, serverProperties } from '../../infra/stack/kafka';
import { withStackLock } from '../../infra/stack/lock';
import { stackPaths } from '../../infra/stack/paths';
import { ourProcess, readPid, writePid } from '../../infra/stack/process';
import { preflight, type LaunchSpec, type StackContext } from '../../infra/stack/service';
import { requireJava } from '../../infra/stack/tools';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-stack-unit-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ctx(overrides: Record<string, unknown> = {}): StackContext {
  const config = loadConfig({ env: {}, overrides: { dataDir: tmp, cacheDir: path.join(tmp, 'cache'), ...overrides } });
  return { config, paths: stackPaths(config), log: () => undefined };
}

describe('topics', () => {
  it('plans every topic with a DLQ twin; only the declared ones are compacted, DLQs never', () => {
    const plan = plannedTopics(loadConfig({ env: {} }), 'x.');
    expect(plan).toHaveLength(16);
    expect(
      plan
        .filter((t) => t.compacted)
        .map((t) => t.name)
        .sort(),
    ).toEqual(['x.catalog.resources', 'x.learners.profiles', 'x.model.content-vectors', 'x.model.item-factors']);
    expect(plan.filter((t) => t.name.endsWith('.dlq')).every((t) => !t.compacted)).toBe(true);
  });
});

describe('broker config', () => {
  it('is a single KRaft node on the configured ports whose internal topics work with one replica', () => {
    const props = serverProperties(ctx({ stack: { kafkaPort: 29092, kafkaControllerPort: 29093 } }));
    expect(props).toContain('process.roles=broker,controller');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:29093');
    for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr']) {
      expect(props).toContain(`${key}=1`);
    }
    expect(props).toContain('group.initial.rebalance.delay.ms=0');
    expect(props).toContain(`log.dirs=${path.join(tmp, 'kafka', 'data')}`);
  });
});

describe('cluster id', () => {
  it('is 22 base64url characters that never begin with "-" (the storage tool would read it as an option)', () => {
    for (let i = 0; i < 20_000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});

describe('pid records', () => {
  it('accept a live pid whose command line carries the marker, and drop a record whose marker does not match', () => {
    const pids = path.join(tmp, 'pids');
    const ownCmd = fs.readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').split('\0')[0];
    writePid(pids, { service: 'redis', pid: process.pid, port: 1, marker: ownCmd, startedAt: '' });
    expect(ourProcess(pids, 'redis')?.pid).toBe(process.pid);

    writePid(pids, { service: 'kafka', pid: process.pid, port: 1, marker: '-Dlearnstream.stack=kafka:/nowhere', startedAt: '' });
    expect(ourProcess(pids, 'kafka')).toBeUndefined();
    expect(readPid(pids, 'kafka')).toBeUndefined();
  });
});

describe('stack lock', () => {
  it('serialises concurrent callers and is re-entrant within one call chain', async () => {
    const order: string[] = [];
    const slow = withStackLock(tmp, async () => {
      order.push('a-start');
      // Re-entrant: a nested call in the same process must not deadlock.
      await withStackLock(tmp, () => Promise.resolve(order.push('a-nested')));
      await new Promise((r) => setTimeout(r, 300));
      order.push('a-end');
    });
    await new Promise((r) => setTimeout(r, 50));
    // An independent caller (another call chain) waits until the first one is done.
    const other = withStackLock(tmp, () => Promise.resolve(order.push('b')));
    await Promise.all([slow, other]);
    expect(order).toEqual(['a-start', 'a-nested', 'a-end', 'b']);
    expect(fs.existsSync(path.join(tmp, 'stack.lock'))).toBe(false);
  });
});

describe('preflight', () => {
  it('reports a port taken by a process we did not start, with the variable to change it', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const spec: LaunchSpec = {
      service: 'redis',
      port,
      marker: 'x',
      graceMs: 0,
      prepare: () => Promise.resolve(),
      command: () => ({ cmd: 'true', args: [] }),
      ready: () => Promise.resolve(false),
    };
    try {
      await expect(preflight(ctx(), [spec])).rejects.toThrow(PrerequisiteError);
      await expect(preflight(ctx(), [spec])).rejects.toThrow(new RegExp(`port ${port} is already in use[\\s\\S]*LEARNSTREAM_REDIS_PORT`));
      // A healthy service found there is accepted when reuse is allowed (test runs next to a running stack).
      await expect(
        preflight({ ...ctx(), reuseReachable: true }, [{ ...spec, ready: () => Promise.resolve(true) }]),
      ).resolves.toBeUndefined();
    } finally {
      server.close();
    }
  });
});

describe('maven errors', () => {
  it('are reduced to the first [ERROR] line without colour codes', () => {
    const out =
      '\x1b[0m\x1b[0m[ERROR] Failed to execute goal: Could not find artifact org.apache.kafka:kafka_2.13:jar:4.9.9\n[ERROR] \n[ERROR] To see the full stack trace...';
    expect(mavenReason(out)).toBe('Failed to execute goal: Could not find artifact org.apache.kafka:kafka_2.13:jar:4.9.9');
  });
});

describe('prerequisites', () => {
  it('a missing Java is a PrerequisiteError that says what is missing and how to get it', () => {
    const saved = process.env.PATH;
    process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-empty-path-'));
    try {
      let caught: unknown;
      try {
        requireJava(17);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PrerequisiteError);
      expect((caught as Error).message).toMatch(/Java not found on PATH/);
      expect((caught as PrerequisiteError).hint).toMatch(/apt-get install openjdk/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
