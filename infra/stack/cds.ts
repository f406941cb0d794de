import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir } from './paths';

/**
 * JVM class-data sharing for our two Java services: the first run dumps the classes it loaded when it exits
 * (on stack:down), later runs map that archive instead of parsing and verifying thousands of classes from jars,
 * which cuts the start-up CPU work on a small machine. A missing, stale or mismatched archive is ignored by the
 * JVM (-Xshare:auto), so the worst case is the plain start-up.
 */
function archivePath(cacheDir: string, name: string, java: string): string {
  return path.join(ensureDir(path.join(cacheDir, 'cds')), `${name}-${jvmName(java)}.jsa`);
}

export function cdsArgs(cacheDir: string, name: string, java: string): string[] {
  const archive = archivePath(cacheDir, name, java);
  const quiet = ['-Xlog:cds=off', '-Xlog:cds+dynamic=off'];
  if (fs.existsSync(archive)) return [`-XX:SharedArchiveFile=${archive}`, '-Xshare:auto', ...quiet];
  // Written under a temporary name: only a clean exit (see finishCds) turns it into the archive later runs use.
  return [`-XX:ArchiveClassesAtExit=${archive}.partial`, ...quiet];
}

/** After stopping the JVM: keep a dump written by a clean exit, drop one cut short by SIGKILL. */
export function finishCds(cacheDir: string, name: string, java: string, how: string): void {
  const archive = archivePath(cacheDir, name, java);
  const partial = `${archive}.partial`;
  if (!fs.existsSync(partial)) return;
  if (how === 'stopped') fs.renameSync(partial, archive);
  else fs.rmSync(partial, { force: true });
}

/** An archive is only valid for the JVM build that wrote it: one archive per JDK directory (java-17-openjdk-amd64). */
function jvmName(java: string): string {
  try {
    return path.basename(path.dirname(path.dirname(fs.realpathSync(java))));
  } catch {
    return 'java';
  }
}
