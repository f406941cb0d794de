import * as fs from 'node:fs';
import * as path from 'node:path';
import { cdsArgs, finishCds } from './cds';
import { copyArtifact, isCached, markCached } from './download';
import { ensureDir } from './paths';
import { halt, probeStatus, type LaunchSpec, type ServiceStatus, type StackContext } from './service';
import { requireJava, run } from './tools';

function dirs(ctx: StackContext) {
  const v = ctx.config.stack.apicurioVersion;
  const root = path.join(ctx.paths.cache, `apicurio-registry-${v}`);
  return {
    root,
    dist: path.join(root, 'dist'),
    runner: path.join(root, 'dist', `apicurio-registry-app-${v}-runner.jar`),
    home: path.join(ctx.paths.data, 'registry'),
  };
}

/** The Confluent-compatible API of our local registry. */
export function localRegistryUrl(ctx: StackContext): string {
  return `http://127.0.0.1:${ctx.config.stack.registryPort}/apis/ccompat/v7`;
}

async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

function authHeaders(ctx: StackContext): Record<string, string> {
  const { username, password } = ctx.config.registry;
  return username && password ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {};
}

async function prepare(ctx: StackContext): Promise<void> {
  requireJava(17);
  const d = dirs(ctx);
  if (!isCached(d.dist)) {
    const tgz = await copyArtifact(
      ctx.paths.cache,
      path.join(d.root, 'download'),
      {
        groupId: 'io.apicurio',
        artifactId: 'apicurio-registry-app',
        version: ctx.config.stack.apicurioVersion,
        type: 'tar.gz',
        classifier: 'all',
      },
      ctx.log,
    );
    fs.rmSync(d.dist, { recursive: true, force: true });
    ensureDir(d.dist);
    await run('tar', ['xzf', tgz, '-C', d.dist]);
    if (!fs.existsSync(d.runner)) throw new Error(`unexpected Apicurio archive layout: no ${path.basename(d.runner)}`);
    // The archive (and Maven's copy of it) is only needed to extract; keep the cache small.
    fs.rmSync(tgz, { force: true });
    fs.rmSync(path.join(ctx.paths.cache, 'm2', 'io', 'apicurio', 'apicurio-registry-app'), { recursive: true, force: true });
    markCached(d.dist);
  }
  ensureDir(d.home);
}

/**
 * The registry's H2 database file (`<dataDir>/registry/h2/registry.mv.db`). DB_CLOSE_DELAY=-1 keeps it open for the
 * life of the JVM (no reopen per connection pool cycle); H2's MVStore survives a kill -9 with at most its last
 * uncommitted write lost, and the registry commits each registration before it answers.
 */
export function registryJdbcUrl(ctx: StackContext): string {
  return `jdbc:h2:file:${path.join(dirs(ctx).home, 'h2', 'registry')};DB_CLOSE_DELAY=-1`;
}

export function marker(ctx: StackContext): string {
  return `-Dlearnstream.stack=registry:${ctx.paths.data}`;
}

/** How to run our registry; undefined when the config points at an existing one. */
export function registrySpec(ctx: StackContext): LaunchSpec | undefined {
  if (!ctx.config.registry.managed) return undefined;
  const m = marker(ctx);
  const heap = ctx.config.stack.registryHeap;
  const d = dirs(ctx);
  return {
    service: 'registry',
    needsJava: true,
    port: ctx.config.stack.registryPort,
    marker: m,
    graceMs: 30_000,
    prepare: () => prepare(ctx),
    command: () => ({
      cmd: requireJava(17),
      args: [
        ...cdsArgs(ctx.paths.cache, cdsName(ctx), requireJava(17)),
        `-Xmx${heap}`,
        // Low-traffic service on a 2-core box: the serial collector and C1 only start faster and use less memory.
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-XX:+ExitOnOutOfMemoryError',
        m,
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${ctx.config.stack.registryPort}`,
        // Every serde lookup would otherwise add a line to the log.
        '-Dquarkus.http.access-log.enabled=false',
        // SQL storage on a file-backed H2 database beside Kafka's log dir (issue 17, item 3): the default is an
        // in-memory H2 whose schema ids vanish on every restart, while Kafka keeps the messages that carry them, so a
        // client's auto-registered id became `unknown-schema-id` after a restart. The file lives in the same data dir
        // as the broker's logs: both survive stack:down/up, both go with a wiped data dir.
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        `-Dapicurio.datasource.url=${registryJdbcUrl(ctx)}`,
        // Tests clean up their subjects; Apicurio 3 refuses deletes unless enabled.
        '-Dapicurio.rest.deletion.artifact.enabled=true',
        '-Dapicurio.rest.deletion.artifact-version.enabled=true',
        '-Dapicurio.rest.deletion.group.enabled=true',
        '-jar',
        d.runner,
      ],
      cwd: d.home,
    }),
    ready: () => httpOk(`${localRegistryUrl(ctx)}/subjects`),
  };
}

function cdsName(ctx: StackContext): string {
  return `apicurio-registry-${ctx.config.stack.apicurioVersion}`;
}

export async function registryDown(ctx: StackContext): Promise<string> {
  const how = await halt(ctx, 'registry', 30_000);
  if (how !== 'not running') finishCds(ctx.paths.cache, cdsName(ctx), requireJava(17), how);
  return how;
}

/** What the server says it is (Apicurio's system endpoint; other registries simply do not answer it). */
async function serverName(url: string, headers: Record<string, string>): Promise<string | undefined> {
  try {
    const res = await fetch(url.replace(/\/apis\/ccompat\/v\d+\/?$/, '/apis/registry/v3/system/info'), {
      headers,
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    const info = (await res.json()) as { name?: string; version?: string };
    return info.name && info.version ? `${info.name} ${info.version}` : undefined;
  } catch {
    return undefined;
  }
}

export async function registryStatus(ctx: StackContext): Promise<ServiceStatus> {
  const managed = ctx.config.registry.managed;
  const url = managed ? localRegistryUrl(ctx) : ctx.config.registry.url;
  const headers = managed ? {} : authHeaders(ctx);
  const status = await probeStatus(ctx, 'registry', managed, ctx.config.stack.registryPort, () => httpOk(`${url}/subjects`, headers));
  const name = status.reachable ? await serverName(url, headers) : undefined;
  return { ...status, detail: `${name ?? (managed ? `Apicurio ${ctx.config.stack.apicurioVersion}` : 'registry')}, ${url}` };
}
