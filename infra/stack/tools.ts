import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrerequisiteError } from '../../lib/errors';

/** Absolute path of an executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Runs a command to completion, capturing output; rejects with the tail of its output on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.split('\n').slice(-25).join('\n')}`));
    });
  });
}

/** Java major version on PATH, or a PrerequisiteError saying how to get one. */
export function requireJava(minMajor = 17): string {
  const java = which('java');
  if (!java)
    throw new PrerequisiteError(
      'Java not found on PATH (the local Kafka broker and registry need Java 17+)',
      'apt-get install openjdk-17-jre-headless',
    );
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr}${res.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < minMajor)
    throw new PrerequisiteError(
      `Java ${minMajor}+ required, found ${major || 'unknown'} at ${java}`,
      'apt-get install openjdk-17-jre-headless',
    );
  return java;
}

const APT_LOCK = '/tmp/ls-apt.lock';

/**
 * Installs a Debian package when `binary` is missing. Serialised with flock because several checkouts may run this at
 * once; `apt-get update` only when the first install attempt fails (a fresh machine has no package lists).
 */
export async function ensureDebianPackage(binary: string, pkg: string, log: (msg: string) => void): Promise<string> {
  const found = which(binary);
  if (found) return found;
  if (!which('apt-get'))
    throw new PrerequisiteError(`${binary} not found and apt-get is not available`, `install ${pkg} with your package manager`);
  if (process.getuid?.() !== 0) throw new PrerequisiteError(`${binary} not found`, `sudo apt-get install -y ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['-c', `flock ${APT_LOCK} apt-get install -y -q --no-install-recommends ${pkg}`];
  log(`installing Debian package ${pkg} (for ${binary})...`);
  try {
    await run('sh', install, { env });
  } catch {
    try {
      await run('sh', ['-c', `flock ${APT_LOCK} apt-get update -q`], { env });
      await run('sh', install, { env });
    } catch (err) {
      throw new PrerequisiteError(
        `installing ${pkg} failed: ${err instanceof Error ? err.message : String(err)}`,
        `apt-get install -y ${pkg}`,
      );
    }
  }
  const installed = which(binary);
  if (!installed) throw new PrerequisiteError(`${pkg} installed but ${binary} is still not on PATH`);
  return installed;
}
