/**
 * model:fetch against a local stand-in for the Hugging Face hub (loopback HTTP server serving the installed model's
 * files under /<repo>/resolve/<revision>/<path>): the real download code, minus the internet. Skips when no installed
 * model is there to serve.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fetchModel } from '../../infra/model/fetch';
import { HUB_SOURCES } from '../../infra/model/sources';
import { DependencyError } from '../../lib/errors';
import { readManifest } from '../../lib/encoder/model-dir';
import { encoderDirOrReason } from '../helpers/encoder';

const model = encoderDirOrReason();
const suite = 'reason' in model ? describe.skip : describe;
if ('reason' in model) console.warn(`model-fetch test skipped: ${model.reason}`);

/** Both cases copy the whole model (~90 MB) over loopback: seconds on a loaded 2-core machine, past jest's 5 s default. */
const COPY_MS = 60_000;

suite('model:fetch', () => {
  const src = HUB_SOURCES['all-MiniLM-L6-v2'];
  const served = (model as { dir: string }).dir;
  let server: http.Server;
  let endpoint: string;
  const requests: string[] = [];
  let missing = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-fetch-'));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const prefix = `/${src.repo}/resolve/${src.revision}/`;
      const remote = decodeURIComponent((req.url ?? '').slice(prefix.length));
      const local = src.files[remote];
      if (!req.url?.startsWith(prefix) || !local || remote === missing) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      fs.createReadStream(path.join(served, local)).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'downloads every file of the model repository into a complete, manifested directory, once',
    async () => {
      const dir = path.join(tmp, 'ok');
      expect(await fetchModel({ endpoint, dir })).toBe(dir);
      for (const local of Object.values(src.files)) {
        expect(fs.readFileSync(path.join(dir, local)).equals(fs.readFileSync(path.join(served, local)))).toBe(true);
      }
      expect(readManifest(dir)?.source).toBe(`hub:${src.repo}@${src.revision}`);
      const n = requests.length;
      await fetchModel({ endpoint, dir }); // idempotent: same source already there, nothing fetched
      expect(requests.length).toBe(n);
    },
    COPY_MS,
  );

  it(
    'fails with a DependencyError on a missing file and leaves no half-written model directory',
    async () => {
      missing = 'tokenizer.json';
      const dir = path.join(tmp, 'broken');
      await expect(fetchModel({ endpoint, dir })).rejects.toBeInstanceOf(DependencyError);
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith('_staging'))).toEqual([]);
    },
    COPY_MS,
  );
});
