/**
 * Memory: bytes per learner and per resource, in the pipeline process (model state) and in Redis (serving keys),
 * at 1M learners / 100k resources (generated).
 *   process  learner state as the learner stage keeps it (pipelines/learner/state.ts `Learner`: factors, counts,
 *            bounded history of resource-id strings, interests), the re-ranker's list index (user -> listed ids,
 *            resource -> users; mirrors pipelines/learner/rerank.ts), and the ItemTable of 100k resources with meta.
 *            Measured as heap + ArrayBuffer deltas after a full GC.
 *   signals  the recommender's global signals in that 100k-resource table (ItemTable.signals, models/recommender):
 *            every resource's transition row full at its capacity (rowCapacity, default 200) plus a popularity key,
 *            filled the way a replica receives them (ItemTable.setSignals of the owner's row). Reported as the
 *            structure's own count (ItemSignals.bytes()) and as the measured live-bytes delta, and the size of the
 *            model.item-factors record of such a row (pipelines/messages.ts encodeItemRow, with and without signals).
 *   redis    rec:<user> lists written through serving/redis-store.ts (format 4, topN items with reasons) and res:<id>
 *            metadata; MEMORY USAGE per key (sampled) and the INFO used_memory delta. Lists are written for a
 *            sample of learners and extrapolated to 1M (1M x topN=100 lists would not fit in this machine's RAM).
 * `npm run bench -- memory [--quick] [--json] [--dim 32]`; needs Redis (started when absent).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadConfig } from '../lib/config';
import { createRedis } from '../lib/redis/client';
import { RedisServingStore } from '../serving/redis-store';
import { newLearner } from '../models/collab';
import { mulberry32, type Rng } from '../models/random/prng';
import { encodeItemRow } from '../pipelines/messages';
import type { ItemTable, RowSignals } from '../pipelines/model/item-table';
import { buildItems, freshId, makeList, pick, TOPICS } from './lib/catalog';
import type { Learner } from '../pipelines/learner/state';
import { liveBytes } from './lib/mem';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { round } from './lib/stats';
import type { Row } from './lib/table';

function buildLearners(n: number, dim: number, historyLen: number, nItems: number, rng: Rng): Map<string, Learner> {
  const m = new Map<string, Learner>();
  for (let u = 0; u < n; u++) {
    const cf = newLearner(dim);
    for (let d = 0; d < dim; d++) cf.vector[d] = rng() - 0.5;
    const history: string[] = [];
    for (let h = 0; h < historyLen; h++) history.push(freshId('res-', Math.floor(rng() * nItems)));
    m.set(freshId('user-', u), {
      cf,
      interactions: historyLen,
      quizzes: 0,
      history,
      interests: [pick(rng, TOPICS)],
      completed: [],
      lastEventAt: Date.now(),
    });
  }
  return m;
}

/** The re-ranker's bookkeeping for n learners with a topN list each (pipelines/learner/rerank.ts listOf/listed). */
function buildListIndex(
  n: number,
  topN: number,
  table: ItemTable,
  rng: Rng,
): { listOf: Map<string, string[]>; listed: Map<string, Set<string>> } {
  const listOf = new Map<string, string[]>();
  const listed = new Map<string, Set<string>>();
  for (let u = 0; u < n; u++) {
    const user = freshId('user-', u);
    const ids: string[] = [];
    for (let k = 0; k < topN; k++) ids.push(table.ids[Math.floor(rng() * table.size)]);
    listOf.set(user, ids);
    for (const id of ids) {
      let s = listed.get(id);
      if (!s) listed.set(id, (s = new Set()));
      s.add(user);
    }
  }
  return { listOf, listed };
}

/**
 * Realistic transition rows for every resource of `table`: `cap` distinct targets each (popular resources drawn more
 * often: a Zipf-like pick over the catalogue), decayed log keys as models/recommender/decayed.ts writes them (counts
 * with a long tail, last seen within a year of event time), a row total that includes evicted mass, and a popularity
 * key. Applied with ItemTable.setSignals, the path of a replica copying the owner's broadcast row.
 */
function fillSignals(table: ItemTable, cap: number, rng: Rng): void {
  const n = table.size;
  const nowS = Date.now() / 1000;
  const hlT = table.signals.transitionHalfLifeSeconds;
  const hlP = table.signals.popularityHalfLifeSeconds;
  const seen = new Set<number>();
  const zipf = () => Math.min(n - 1, Math.floor(Math.pow(n + 1, rng())) - 1); // log-uniform rank: heavy head, long tail
  for (let i = 0; i < n; i++) {
    seen.clear();
    const to: string[] = [];
    const key: number[] = [];
    let sum = 0;
    while (to.length < Math.min(cap, n - 1)) {
      const j = zipf();
      if (j === i || seen.has(j)) continue;
      seen.add(j);
      const count = 1 + Math.floor(1 / (0.002 + rng()));
      const k = Math.log2(count) + (nowS - rng() * 365 * 86400) / hlT;
      sum += Math.pow(2, k - nowS / hlT);
      to.push(table.ids[j]);
      key.push(k);
    }
    const sumKey = Math.log2(sum * (1.2 + rng())) + nowS / hlT; // evicted targets keep their share of the total
    const pop = Math.log2(1 + Math.floor(1 / (0.001 + rng()))) + (nowS - rng() * 30 * 86400) / hlP;
    const s: RowSignals = { to, key, sumKey, pop };
    table.setSignals(i, s);
  }
}

/** Keeps what is being measured reachable across the GC that measures it. */
export let retained: unknown = null;

/** Live bytes added by `build()` divided by `n`; the built value is released afterwards. */
function bytesPer(n: number, build: () => unknown): number {
  const base = liveBytes();
  retained = build();
  const out = (liveBytes() - base) / n;
  retained = null;
  return out;
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function memoryUsage(r: Redis, keys: string[]): Promise<number> {
  let sum = 0;
  for (const k of keys) sum += Number(await r.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
  return sum / keys.length;
}

async function unlinkPrefix(r: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
}

async function inBatches(n: number, batch: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let a = 0; a < n; a += batch) {
    const ps: Promise<unknown>[] = [];
    for (let i = a; i < Math.min(n, a + batch); i++) ps.push(fn(i));
    await Promise.all(ps);
  }
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('memory', args);
  const config = loadConfig();
  const dimArg = args.rest.indexOf('--dim');
  const dim = dimArg >= 0 ? Number(args.rest[dimArg + 1]) : config.model.dim;
  const topN = config.pipeline.topN;
  const nLearners = 1_000_000;
  const nItems = 100_000;
  const learnerSample = args.quick ? 100_000 : 1_000_000;
  const capSample = args.quick ? 10_000 : 50_000;
  const listSample = args.quick ? 20_000 : 100_000;
  const redisSample = args.quick ? 5_000 : 10_000;
  const rng = mulberry32(11);

  // ---- in process -------------------------------------------------------------------------------------------------
  const proc: Row[] = [];
  progress(`item table: ${nItems.toLocaleString()} x ${dim}`);
  const base = liveBytes();
  const table = buildItems(nItems, dim, rng);
  const perItem = (liveBytes() - base) / nItems;
  proc.push({
    state: `ItemTable row + meta (dim ${dim})`,
    measured_on: nItems,
    bytes_each: round(perItem),
    total_at_scale_MiB: round((perItem * nItems) / 2 ** 20),
    scale: '100k resources',
  });

  // the recommender's signals of the same 100k resources (ItemTable.signals), each transition row full
  const rowCap = table.signals.rowCapacity;
  progress(`recommender signals: ${nItems.toLocaleString()} transition rows x ${rowCap} targets + popularity`);
  const sigBase = liveBytes();
  fillSignals(table, rowCap, rng);
  const sigLive = (liveBytes() - sigBase) / nItems;
  const sigOwn = table.signals.bytes() / nItems;
  proc.push({
    state: `ItemTable.signals: ItemSignals.bytes() (row of ${rowCap} + popularity)`,
    measured_on: nItems,
    bytes_each: round(sigOwn),
    total_at_scale_MiB: round((sigOwn * nItems) / 2 ** 20),
    scale: '100k resources',
  });
  proc.push({
    state: `ItemTable.signals: live-bytes delta (row of ${rowCap} + popularity)`,
    measured_on: nItems,
    bytes_each: round(sigLive),
    total_at_scale_MiB: round((sigLive * nItems) / 2 ** 20),
    scale: '100k resources',
  });

  // the model.item-factors record the item stage broadcasts for such a row (pipelines/item/processor.ts: encodeItemRow
  // of table.get(id) with its position), with and without the signals
  const rowSample = Math.min(nItems, args.quick ? 5_000 : 20_000);
  progress(`item-factors rows: encoding ${rowSample.toLocaleString()} rows with and without signals`);
  let withSig = 0;
  let withoutSig = 0;
  let targets = 0;
  for (let k = 0; k < rowSample; k++) {
    const r = table.get(table.ids[Math.floor((k * nItems) / rowSample)])!;
    targets += r.signals?.to.length ?? 0;
    withSig += encodeItemRow(r, [0, '1234567']).length;
    withoutSig += encodeItemRow({ ...r, signals: undefined }, [0, '1234567']).length;
  }
  const rowWith = withSig / rowSample;
  const rowWithout = withoutSig / rowSample;
  const msg: Row[] = [
    {
      record: `item-factors row with signals (dim ${dim}, meta, ${round(targets / rowSample)} targets)`,
      measured_on: rowSample,
      bytes_each: round(rowWith),
      total_at_scale_MiB: round((rowWith * nItems) / 2 ** 20),
      scale: '100k resources (compacted topic, one record each)',
    },
    {
      record: `item-factors row without signals (dim ${dim}, meta)`,
      measured_on: rowSample,
      bytes_each: round(rowWithout),
      total_at_scale_MiB: round((rowWithout * nItems) / 2 ** 20),
      scale: '100k resources',
    },
    {
      record: 'signals share of the row',
      measured_on: rowSample,
      bytes_each: round(rowWith - rowWithout),
      total_at_scale_MiB: round(((rowWith - rowWithout) * nItems) / 2 ** 20),
      scale: '100k resources',
    },
  ];
  report.figures = {
    resources: nItems,
    rowCapacity: rowCap,
    signalsBytesPerResource: round(sigOwn),
    signalsLiveBytesPerResource: round(sigLive),
    itemRowBytesWithSignals: round(rowWith),
    itemRowBytesWithoutSignals: round(rowWithout),
    itemRowSignalsBytes: round(rowWith - rowWithout),
    encodedRowsSampled: rowSample,
  };

  const typicalHistory = 20;
  progress(`learners: ${learnerSample.toLocaleString()} with ${typicalHistory} history entries`);
  const perLearner = bytesPer(learnerSample, () => buildLearners(learnerSample, dim, typicalHistory, nItems, rng));
  proc.push({
    state: `Learner (factors, counts, history ${typicalHistory}, 1 interest)`,
    measured_on: learnerSample,
    bytes_each: round(perLearner),
    total_at_scale_MiB: round((perLearner * nLearners) / 2 ** 20),
    scale: '1M learners' + (learnerSample < nLearners ? ' (extrapolated)' : ''),
  });

  progress(`learners at the history cap: ${capSample.toLocaleString()} x ${config.pipeline.historyLength}`);
  const perCapped = bytesPer(capSample, () => buildLearners(capSample, dim, config.pipeline.historyLength, nItems, rng));
  proc.push({
    state: `Learner at history cap (${config.pipeline.historyLength})`,
    measured_on: capSample,
    bytes_each: round(perCapped),
    total_at_scale_MiB: round((perCapped * nLearners) / 2 ** 20),
    scale: '1M learners (extrapolated, worst case)',
  });

  progress(`re-ranker list index: ${listSample.toLocaleString()} learners x top ${topN}`);
  const perIndex = bytesPer(listSample, () => buildListIndex(listSample, topN, table, rng));
  proc.push({
    state: `Re-ranker list index (top ${topN} ids + reverse sets)`,
    measured_on: listSample,
    bytes_each: round(perIndex),
    total_at_scale_MiB: round((perIndex * nLearners) / 2 ** 20),
    scale: '1M learners (extrapolated)',
  });
  report.sections.push({
    title: 'Pipeline process (learner stage) memory',
    rows: proc,
    notes: [
      'bytes_each = (heapUsed + arrayBuffers) delta after full GC / rows built; id strings are fresh per event as decode produces them.',
    ],
  });
  report.sections.push({
    title: 'Recommender signals per resource (100k resources, full transition rows)',
    rows: [
      { figure: 'ItemSignals.bytes() per resource', bytes: round(sigOwn) },
      { figure: 'signals live-bytes delta per resource (heap + ArrayBuffers, full GC)', bytes: round(sigLive) },
      { figure: 'item-factors record with signals, per resource', bytes: round(rowWith) },
      { figure: 'item-factors record without signals, per resource', bytes: round(rowWithout) },
    ],
    notes: [
      `Every one of the ${nItems.toLocaleString()} resources has a full transition row (${rowCap} distinct targets, rowCapacity default) and a popularity key, copied in with ItemTable.setSignals as a replica does; ids as the table holds them (res-0 .. res-99999).`,
      'ItemSignals.bytes() counts the typed arrays (Int32 targets, Float64 keys), the popularity arrays and a fixed 48 B per row object; the live-bytes delta also sees the JS objects and typed-array headers it estimates.',
      'A learner-stage process holds this for the whole catalogue (its replica); an item-stage instance holds it for the items it owns (all of them for one instance, e.g. --stage all, which then holds both).',
    ],
  });
  report.sections.push({
    title: 'model.item-factors record per resource (encodeItemRow)',
    rows: msg,
    notes: [
      'Mean encoded length of table.get(id) with a [partition, offset] position, as pipelines/item/processor.ts broadcasts it; UTF-8 ids of 5-9 bytes, each target costs 2 + id + 8 bytes.',
    ],
  });

  // ---- in Redis ---------------------------------------------------------------------------------------------------
  const stack = await ensureStack(config);
  const redis = createRedis(config);
  const prefix = `lsbench:${randomBytes(4).toString('hex')}:`;
  const store = new RedisServingStore({ redis, keyPrefix: prefix });
  const rrows: Row[] = [];
  try {
    for (const n of [topN, 20].filter((v, i, a) => a.indexOf(v) === i)) {
      const before = await usedMemory(redis);
      progress(`redis: ${redisSample.toLocaleString()} rec lists of ${n} items`);
      const users: string[] = [];
      await inBatches(redisSample, 500, (u) => {
        const id = `user-${n}-${u}`;
        users.push(id);
        return store.putRecommendations(makeList(id, n, table, rng));
      });
      const delta = ((await usedMemory(redis)) - before) / redisSample;
      const sampleKeys = users.slice(0, 300).map((u) => `${prefix}rec:${u}`);
      const usage = await memoryUsage(redis, sampleKeys);
      const valueBytes = await redis.strlen(sampleKeys[0]);
      if (n === topN) {
        report.figures = {
          ...report.figures,
          redisBytesPerTopList: round(usage),
          redisValueBytesPerTopList: valueBytes,
          redisGiBAt1MLearners: round((usage * nLearners) / 2 ** 30),
        };
        report.targets.push({
          target: `Redis ≤ 1.5 KB (1,536 B) per top-${topN} list with scores and reason codes (MEMORY USAGE)`,
          measured: `${round(usage)} B (value ${valueBytes} B)`,
          pass: usage <= 1536,
        });
      }
      rrows.push({
        key: `rec:<userId> (top ${n}, list format 4)`,
        written: redisSample,
        value_bytes: valueBytes,
        memory_usage_bytes: round(usage),
        info_delta_bytes: round(delta),
        at_scale_GiB: round((usage * nLearners) / 2 ** 30),
        scale: '1M learners (extrapolated)',
      });
    }
    {
      // The dictionary those lists refer to (serving/list-dictionary.ts): one entry per distinct item, reason and
      // model version, shared by every learner, so it grows with the catalogue, not with the learners.
      const dictKeys = [`${prefix}dict:k`, `${prefix}dict:v`];
      const entries = await redis.hlen(dictKeys[0]);
      let bytes = 0;
      for (const k of dictKeys) bytes += Number(await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
      rrows.push({
        key: 'dict:k + dict:v (list dictionary, shared)',
        written: entries,
        value_bytes: '',
        memory_usage_bytes: round(bytes / Math.max(1, entries)),
        info_delta_bytes: '',
        at_scale_GiB: round(bytes / 2 ** 30),
        scale: `${entries.toLocaleString()} entries (per entry; not per learner)`,
      });
      report.figures = { ...report.figures, dictionaryEntries: entries, dictionaryBytes: bytes };
    }
    const before = await usedMemory(redis);
    progress(`redis: ${nItems.toLocaleString()} res:<id> metadata keys`);
    await inBatches(nItems, 1000, (i) =>
      store.putResource({
        resourceId: table.ids[i],
        title: table.meta[i]!.title!,
        type: table.meta[i]!.type!,
        topics: table.meta[i]!.topics!,
        skills: table.meta[i]!.skills!,
        difficulty: table.meta[i]!.difficulty,
        active: true,
      }),
    );
    const delta = ((await usedMemory(redis)) - before) / nItems;
    const usage = await memoryUsage(
      redis,
      table.ids.slice(0, 300).map((id) => `${prefix}res:${id}`),
    );
    rrows.push({
      key: 'res:<resourceId> (JSON meta)',
      written: nItems,
      value_bytes: await redis.strlen(`${prefix}res:${table.ids[0]}`),
      memory_usage_bytes: round(usage),
      info_delta_bytes: round(delta),
      at_scale_GiB: round((usage * nItems) / 2 ** 30),
      scale: '100k resources',
    });
  } finally {
    progress('redis: removing bench keys');
    await unlinkPrefix(redis, prefix);
    redis.disconnect();
    await stack.stop();
  }
  report.sections.push({
    title: 'Redis serving keys',
    rows: rrows,
    notes: [
      'memory_usage_bytes = mean MEMORY USAGE over 300 keys (SAMPLES 0); info_delta_bytes = INFO used_memory delta / keys (noisy: Redis is shared).',
      `Lists were written for ${redisSample.toLocaleString()} learners and extrapolated linearly to 1M (per-key cost does not depend on key count).`,
      'rec: rows are list format 4 (serving/list-codec/format-4.ts): numbers into the shared dictionary row below, 16-bit scores; their info_delta also holds the dictionary entries the first lists added.',
    ],
  });
  emitReport(report, args);
}
