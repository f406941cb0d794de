import { OnlineCollab } from '../../../../models/collab/model';
import { DEFAULT_WEIGHTS, eventWeight, type Interaction, type InteractionKind } from '../../../../models/collab/options';
import { applyItemUpdate, learnerStep, type ItemFactors } from '../../../../models/collab/step';
import { mulberry32 } from '../../../../models/random/prng';

const KINDS: InteractionKind[] = ['view', 'click', 'complete', 'bookmark', 'skip', 'dislike', 'rating', 'dwell'];

/** A seeded synthetic stream with two taste groups, so factors have something to learn. */
function stream(n: number, seed = 3): Interaction[] {
  const rng = mulberry32(seed);
  const out: Interaction[] = [];
  for (let e = 0; e < n; e++) {
    const u = Math.floor(rng() * 40);
    const group = u % 2;
    const item = group * 150 + Math.floor(rng() * 150); // 300 items: beyond the initial table capacity
    const kind = KINDS[Math.floor(rng() * KINDS.length)];
    out.push({
      learnerId: `u${u}`,
      resourceId: `r${item}`,
      kind,
      timestamp: 1_600_000_000_000 + e * 60_000,
      value: kind === 'rating' ? 1 + Math.floor(rng() * 5) : kind === 'dwell' ? rng() * 600 : undefined,
    });
  }
  return out;
}

function scores(m: OnlineCollab, learner: string, now: number): Float64Array {
  const out = new Float64Array(m.resourceCount);
  m.scoreAll(learner, now, out);
  return out;
}

describe('event weights', () => {
  it('orders complete > bookmark > click > view > 0 > skip > dislike; ratings >= 4 positive', () => {
    const w = (kind: InteractionKind, value?: number) => eventWeight({ kind, value }, DEFAULT_WEIGHTS);
    expect(w('complete')).toBeGreaterThan(w('bookmark'));
    expect(w('bookmark')).toBeGreaterThan(w('click'));
    expect(w('click')).toBeGreaterThan(w('view'));
    expect(w('view')).toBeGreaterThan(0);
    expect(w('skip')).toBeLessThan(0);
    expect(w('dislike')).toBeLessThan(w('skip'));
    expect(w('rating', 4)).toBeGreaterThan(0);
    expect(w('rating', 5)).toBeGreaterThan(w('rating', 4));
    expect(w('rating', 3.5)).toBeLessThanOrEqual(0);
  });
});

describe('OnlineCollab', () => {
  const events = stream(3000);
  const now = events[events.length - 1].timestamp;

  it('is deterministic under a seed and grows past its initial capacity', () => {
    const a = new OnlineCollab({ dim: 8, seed: 5 });
    const b = new OnlineCollab({ dim: 8, seed: 5 });
    for (const ev of events) {
      a.observe(ev);
      b.observe(ev);
    }
    expect(a.resourceCount).toBe(300);
    expect(scores(a, 'u1', now)).toEqual(scores(b, 'u1', now));
    const c = new OnlineCollab({ dim: 8, seed: 6 });
    for (const ev of events) c.observe(ev);
    expect(scores(c, 'u1', now)).not.toEqual(scores(a, 'u1', now));
  });

  it('keeps exact per-learner and per-resource event counts', () => {
    const m = new OnlineCollab({ dim: 8 });
    const perLearner = new Map<string, number>();
    const perResource = new Map<string, number>();
    for (const ev of events) {
      m.observe(ev);
      perLearner.set(ev.learnerId, (perLearner.get(ev.learnerId) ?? 0) + 1);
      perResource.set(ev.resourceId, (perResource.get(ev.resourceId) ?? 0) + 1);
    }
    for (const [id, n] of perLearner) expect(m.learnerEvents(id)).toBe(n);
    for (const [id, n] of perResource) expect(m.resourceEvents(id)).toBe(n);
  });

  it('save -> load gives identical predictions, and identical learning afterwards', () => {
    const m = new OnlineCollab({ dim: 8, seed: 9 });
    for (const ev of events.slice(0, 2000)) m.observe(ev);
    const restored = OnlineCollab.deserialize(JSON.parse(JSON.stringify(m.serialize())));
    for (const u of ['u0', 'u1', 'u17', 'nobody']) expect(scores(restored, u, now)).toEqual(scores(m, u, now));
    for (const ev of events.slice(2000)) {
      m.observe(ev);
      restored.observe(ev);
    }
    expect(scores(restored, 'u3', now)).toEqual(scores(m, 'u3', now));
    expect(restored.serialize()).toEqual(m.serialize());
  });

  it('learner step + item updates applied elsewhere equal observe()', () => {
    const whole = new OnlineCollab({ dim: 8, seed: 2 });
    const learnerSide = new OnlineCollab({ dim: 8, seed: 2 }); // learner stage: owns learner rows, item replica
    const itemOwner = new Map<string, ItemFactors>(); // item stage: owns item rows
    for (const ev of events.slice(0, 800)) {
      whole.observe(ev);
      const { learner, gradients } = learnerStep(learnerSide.learnerRow(ev.learnerId), itemView(learnerSide), ev, learnerSide.options);
      learnerSide.setLearnerRow(ev.learnerId, learner);
      for (const g of gradients) {
        const cur = itemOwner.get(g.resourceId) ?? fresh(learnerSide, g.resourceId);
        itemOwner.set(g.resourceId, applyItemUpdate(cur, g, learnerSide.options));
        learnerSide.applyGradient(g); // the replica catches up (in the pipeline: via the item-factor topic)
      }
    }
    expect(scores(learnerSide, 'u5', now)).toEqual(scores(whole, 'u5', now));
    for (const [id, row] of itemOwner) expect(row.count).toBe(whole.resourceEvents(id));
  });

  it('learns the two taste groups: in-group resources outrank out-of-group ones', () => {
    const pos = stream(6000, 11).map((e) => ({ ...e, kind: 'complete' as const, value: undefined }));
    const m = new OnlineCollab({ dim: 8, seed: 1, lr: 0.2, itemBiasHalfLifeMs: Infinity });
    for (const ev of pos) m.observe(ev);
    const t = pos[pos.length - 1].timestamp;
    const s = scores(m, 'u2', t); // group 0: r0..r149
    let inGroup = 0;
    let outGroup = 0;
    for (let i = 0; i < m.resourceCount; i++) {
      const item = Number(m.resourceIdAt(i).slice(1));
      if (item < 150) inGroup += s[i] / 150;
      else outGroup += s[i] / 150;
    }
    expect(inGroup).toBeGreaterThan(outGroup + 0.5);
  });
});

function itemView(m: OnlineCollab) {
  const snapshot = m.serialize().resources; // read-only replica contents
  const index = new Map(snapshot.ids.map((id, i) => [id, i]));
  return {
    size: snapshot.ids.length,
    idAt: (i: number) => snapshot.ids[i],
    vector: (id: string) => {
      const r = index.get(id);
      return r === undefined ? undefined : Float32Array.from(snapshot.vectors.slice(r * 8, r * 8 + 8));
    },
    bias: (id: string, t: number) => {
      const r = index.get(id);
      if (r === undefined) return 0;
      const last = snapshot.lastT[r];
      return snapshot.biases[r] * (last === null ? 1 : Math.pow(2, -Math.max(0, t - last) / m.options.itemBiasHalfLifeMs));
    },
  };
}

function fresh(m: OnlineCollab, id: string): ItemFactors {
  // the same deterministic init the replica uses for a resource it has not seen
  const probe = new OnlineCollab(m.options);
  probe.applyGradient({ resourceId: id, grad: new Float32Array(8), gradBias: 0, countsAsEvent: false, timestamp: 0 });
  const data = probe.serialize().resources;
  return { vector: Float32Array.from(data.vectors), bias: 0, count: 0, lastT: Number.NaN };
}
