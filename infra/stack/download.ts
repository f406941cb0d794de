import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrerequisiteError } from '../../lib/errors';
import { ensureDir } from './paths';
import { ensureDebianPackage, run } from './tools';

/**
 * Downloads go through Maven with a private local repository inside our cache: the cache is then self-contained
 * (removing it really is a cold start) and Maven resolves the broker's transitive dependencies for us.
 */
export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  type?: string;
  classifier?: string;
}

const READY_MARKER = '.complete';
/** Pinned so every machine resolves the same plugin. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
/**
 * `copy` of a single file uses the 2.x plugin: 3.x reads the artifact's parent pom first, and the Apicurio app's parent
 * pom is not published, so 3.x refuses a tar.gz that is there.
 */
const COPY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:2.8';

/** A cache entry is complete only after its marker was written, so an interrupted download is redone. */
export function isCached(dir: string): boolean {
  return fs.existsSync(path.join(dir, READY_MARKER));
}

export function markCached(dir: string): void {
  fs.writeFileSync(path.join(dir, READY_MARKER), new Date().toISOString() + '\n');
}

/** Services start in parallel but their downloads take turns: Maven's local repository is not safe for concurrent writers. */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

function mvn(cacheRoot: string, args: string[], cwd: string, log: (msg: string) => void): Promise<void> {
  return serial(() => mvnNow(cacheRoot, args, cwd, log));
}

async function mvnNow(cacheRoot: string, args: string[], cwd: string, log: (msg: string) => void): Promise<void> {
  const bin = await ensureDebianPackage('mvn', 'maven', log);
  const repo = path.join(cacheRoot, 'm2');
  try {
    // -U: a failed lookup is cached by Maven for a day; a retry after fixing the network must really retry.
    await run(bin, ['-B', '-q', '-ntp', '-U', `-Dmaven.repo.local=${repo}`, ...args], { cwd });
  } catch (err) {
    throw new PrerequisiteError(
      `download failed: ${mavenReason(err instanceof Error ? err.message : String(err))}`,
      `check network access to the Maven repository (or a proxy in ~/.m2/settings.xml) and the configured versions, then run stack:up again`,
    );
  }
}

/** The first Maven [ERROR] line, without colour codes: the rest is Maven's generic advice. */
export function mavenReason(output: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
  const line = clean.split('\n').find((l) => l.startsWith('[ERROR]') && l.length > 10);
  return (line ?? clean.split('\n').slice(-5).join('\n')).replace(/^\[ERROR\]\s*/, '').slice(0, 600);
}

function dependencyXml(a: MavenArtifact): string {
  return [
    '    <dependency>',
    `      <groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId><version>${a.version}</version>`,
    '    </dependency>',
  ].join('\n');
}

function pomXml(name: string, artifacts: MavenArtifact[]): string {
  return [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>learnstream.stack</groupId><artifactId>${name}</artifactId><version>1</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    ...artifacts.map(dependencyXml),
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

/**
 * Copies the runtime dependency closure of `artifacts` as jars into `outDir` (a generated pom with them as
 * dependencies; direct dependencies win Maven's version mediation, which is how a binding's API version is pinned).
 */
export async function copyClosure(
  cacheRoot: string,
  outDir: string,
  artifacts: MavenArtifact[],
  log: (msg: string) => void,
): Promise<void> {
  if (isCached(outDir)) return;
  fs.rmSync(outDir, { recursive: true, force: true });
  const work = ensureDir(path.join(cacheRoot, 'poms', path.basename(outDir)));
  fs.writeFileSync(path.join(work, 'pom.xml'), pomXml(path.basename(outDir), artifacts));
  log(`downloading ${artifacts.map((a) => `${a.artifactId}:${a.version}`).join(', ')} and dependencies...`);
  await mvn(cacheRoot, [`${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${outDir}`], work, log);
  markCached(outDir);
}

/** Downloads one artifact (e.g. a tar.gz distribution) and returns its path. */
export async function copyArtifact(cacheRoot: string, outDir: string, a: MavenArtifact, log: (msg: string) => void): Promise<string> {
  const coords = [a.groupId, a.artifactId, a.version, a.type ?? 'jar', a.classifier].filter(Boolean).join(':');
  const file = `${a.artifactId}-${a.version}${a.classifier ? `-${a.classifier}` : ''}.${a.type ?? 'jar'}`;
  const target = path.join(outDir, file);
  if (fs.existsSync(target) && isCached(outDir)) return target;
  ensureDir(outDir);
  log(`downloading ${coords}...`);
  const work = ensureDir(path.join(cacheRoot, 'poms', a.artifactId));
  fs.writeFileSync(path.join(work, 'pom.xml'), pomXml(`${a.artifactId}-download`, []));
  await mvn(cacheRoot, [`${COPY_PLUGIN}:copy`, `-Dartifact=${coords}`, `-DoutputDirectory=${outDir}`], work, log);
  if (!fs.existsSync(target)) throw new PrerequisiteError(`download of ${coords} produced no ${file}`);
  markCached(outDir);
  return target;
}
