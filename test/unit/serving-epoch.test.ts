import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../lib/log';
import { ServingEpoch, type EpochStore, type RebuildCause } from '../../pipelines/serving-epoch';

/** The epoch key and the generation marks, as Redis holds them; `copy()` / `restore()` are an RDB/AOF copy. */
class FakeEpochStore implements EpochStore {
  epoch: string | null = null;
  marks = new Map<string, number>();
  readEpoch(): Promise<string | null> {
    return Promise.resolve(this.epoch);
  }
  claimEpoch(candidate: string): Promise<string> {
    this.epoch ??= candidate;
    return Promise.resolve(this.epoch);
  }
  readMark(name: string): Promise<number | null> {
    return Promise.resolve(this.marks.get(name) ?? null);
  }
  writeMark(name: string, generation: number): Promise<void> {
    this.marks.set(name, generation);
    return Promise.resolve();
  }
  copy(): { epoch: string | null; marks: Map<string, number> } {
    return { epoch: this.epoch, marks: new Map(this.marks) };
  }
  restore(c: { epoch: string | null; marks: Map<string, number> }): void {
    this.epoch = c.epoch;
    this.marks = new Map(c.marks);
  }
}

describe('ServingEpoch: a lost serving view is detected, an older copy with the same epoch id too', () => {
  const logger = createLogger({ level: 'error' });
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-epoch-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function watcher(store: FakeEpochStore, causes: RebuildCause[]) {
    return new ServingEpoch({
      store,
      stage: 'learner',
      stateDir: dir,
      logger,
      rewrite: () => Promise.resolve(),
      onRewrite: (e) => void (e.phase === 'start' && causes.push(e.cause)),
    });
  }

  it('rewrites once on first start, then only when the store is emptied, replaced or restored from an older copy', async () => {
    const store = new FakeEpochStore();
    const causes: RebuildCause[] = [];
    const e = watcher(store, causes);
    await e.check();
    expect(causes).toEqual(['missing']);
    for (let i = 0; i < 3; i++) await e.check();
    expect(causes).toEqual(['missing']); // intact: every check only advances the generation
    expect(store.marks.get(e.markName)).toBe(4);

    const copy = store.copy();
    await e.check();
    await e.check();
    store.restore(copy); // same epoch id, generation 4 < 6
    await e.check();
    expect(causes).toEqual(['missing', 'behind']);
    expect(store.marks.get(e.markName)).toBe(7);
    await e.check();
    expect(causes).toEqual(['missing', 'behind']);

    store.epoch = null; // came back empty
    await e.check();
    store.epoch = 'another'; // replaced
    await e.check();
    expect(causes).toEqual(['missing', 'behind', 'missing', 'changed']);
  });

  it('keeps the epoch, instance id and generation across a restart: an intact store is not rewritten, an older one is', async () => {
    const store = new FakeEpochStore();
    const causes: RebuildCause[] = [];
    const first = watcher(store, causes);
    await first.check();
    const copy = store.copy();
    await first.check();
    await first.check();
    await first.stop();
    const second = watcher(store, causes);
    expect(second.markName).toBe(first.markName);
    await second.check();
    expect(causes).toEqual(['missing']);
    await second.stop();
    store.restore(copy);
    const third = watcher(store, causes);
    await third.check();
    expect(causes).toEqual(['missing', 'behind']);
  });

  it('a mark missing from the store (expired, or a copy from before it existed) counts as behind; a file without a generation does not', async () => {
    const store = new FakeEpochStore();
    const causes: RebuildCause[] = [];
    const e = watcher(store, causes);
    await e.check();
    store.marks.clear();
    await e.check();
    expect(causes).toEqual(['missing', 'behind']);
    // An epoch file from before generations existed: one line, the id.
    fs.writeFileSync(path.join(dir, 'learner', 'serving-epoch'), `${store.epoch}\n`);
    store.marks.clear();
    const old = watcher(store, causes);
    await old.check();
    expect(causes).toEqual(['missing', 'behind']);
    expect(store.marks.get(old.markName)).toBe(1);
  });

  it('a crash between the store mark and the file leaves the file behind, which is not a rewrite', async () => {
    const store = new FakeEpochStore();
    const causes: RebuildCause[] = [];
    const e = watcher(store, causes);
    await e.check();
    await e.check();
    store.marks.set(e.markName, 9); // the store got further than the file
    await e.check();
    expect(causes).toEqual(['missing']);
  });
});
