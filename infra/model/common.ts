import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelManifest } from '../../lib/encoder/model-dir';

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every regular file under `dir`, as paths relative to it (forward slashes), sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/**
 * Writes the manifest into a fully populated staging directory and renames it over `target`, so a crash half-way
 * never leaves a directory that {@link readManifest} would accept.
 */
export function commitModelDir(staging: string, target: string, meta: Omit<ModelManifest, 'sha256' | 'installedAt'>): ModelManifest {
  const sha256: Record<string, string> = {};
  for (const rel of listFiles(staging)) sha256[rel] = sha256File(path.join(staging, rel));
  const manifest: ModelManifest = { ...meta, sha256, installedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.renameSync(staging, target);
  return manifest;
}

export function freshDir(dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
