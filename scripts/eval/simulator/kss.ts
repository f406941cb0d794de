/**
 * A knowledge-structure learner simulator in the style of EduSim's KSS: a prerequisite DAG of items, learners with a
 * hidden mastered set, and a learning rule in which studying an item teaches it with a probability that depends on
 * how many of its prerequisites are mastered and on its difficulty. Quiz answers are noisy reads of the hidden state
 * (slip and guess). Written here on purpose, sharing no code with the recommender it judges (its own PRNG, its own
 * graph): the simulator must not be able to agree with the model by construction.
 */

/** Everything that defines a simulated world; printed with the results so anyone can rerun it. */
export interface KssParams {
  seed: number;
  /** Items in the DAG, spread over `layers` levels; an item's prerequisites come from the levels below. */
  items: number;
  layers: number;
  /** Each item above level 0 has 1..maxPrerequisites prerequisites. */
  maxPrerequisites: number;
  /** P(learn | every prerequisite mastered) = readyLearn × (1 − difficultyWeight × difficulty). */
  readyLearn: number;
  difficultyWeight: number;
  /** P(learn | a share f < 1 of prerequisites mastered) = unreadyLearn × f × (1 − difficultyWeight × difficulty). */
  unreadyLearn: number;
  /** Quiz noise: P(wrong | mastered) and P(right | not mastered). */
  slip: number;
  guess: number;
  /** A new learner has each level-0 item mastered with this probability, nothing else. */
  priorMastery: number;
  /** A goal has at least this many ancestors. */
  minGoalAncestors: number;
}

export const DEFAULT_KSS: KssParams = {
  seed: 20,
  items: 80,
  layers: 8,
  maxPrerequisites: 3,
  readyLearn: 0.9,
  difficultyWeight: 0.5,
  unreadyLearn: 0.15,
  slip: 0.1,
  guess: 0.2,
  priorMastery: 0.3,
  minGoalAncestors: 10,
};

/** Mulberry32: the simulator's own PRNG (deterministic per seed). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KssItem {
  id: string;
  level: number;
  difficulty: number;
  prerequisites: string[];
}

export class KssWorld {
  readonly items: KssItem[] = [];
  private readonly byId = new Map<string, KssItem>();
  private readonly ancestors = new Map<string, Set<string>>();

  constructor(readonly p: KssParams) {
    const r = rng(p.seed);
    const perLevel = Math.ceil(p.items / p.layers);
    for (let i = 0; i < p.items; i++) {
      const level = Math.min(p.layers - 1, Math.floor(i / perLevel));
      const below = this.items.filter((x) => x.level < level);
      const recent = below.filter((x) => x.level >= level - 2); // mostly from the two levels below: long chains
      const prerequisites: string[] = [];
      if (level > 0) {
        const n = 1 + Math.floor(r() * p.maxPrerequisites);
        for (let k = 0; k < n; k++) {
          const pool = r() < 0.8 && recent.length > 0 ? recent : below;
          const c = pool[Math.floor(r() * pool.length)].id;
          if (!prerequisites.includes(c)) prerequisites.push(c);
        }
      }
      // difficulty grows with level, with noise
      const difficulty = Math.min(1, Math.max(0, level / p.layers + (r() - 0.5) * 0.4));
      const item = { id: `sim-${String(i).padStart(3, '0')}`, level, difficulty, prerequisites };
      this.items.push(item);
      this.byId.set(item.id, item);
    }
  }

  item(id: string): KssItem | undefined {
    return this.byId.get(id);
  }

  /** Every item that must be mastered before `id` (transitively). */
  ancestorsOf(id: string): Set<string> {
    let a = this.ancestors.get(id);
    if (a) return a;
    a = new Set<string>();
    for (const q of this.byId.get(id)!.prerequisites) {
      a.add(q);
      for (const x of this.ancestorsOf(q)) a.add(x);
    }
    this.ancestors.set(id, a);
    return a;
  }

  /** Items that can be goals: at least minGoalAncestors ancestors. */
  goals(): KssItem[] {
    return this.items.filter((x) => this.ancestorsOf(x.id).size >= this.p.minGoalAncestors);
  }
}

/** One simulated learner: the hidden mastered set, a goal, and their own random stream. */
export class KssLearner {
  readonly mastered = new Set<string>();
  constructor(
    readonly id: string,
    readonly goal: string,
    private readonly world: KssWorld,
    private readonly r: () => number,
  ) {
    for (const x of world.items) if (x.level === 0 && r() < world.p.priorMastery) this.mastered.add(x.id);
  }

  /** Share of the goal's knowledge structure (the goal and all its ancestors) mastered, 0..1. */
  goalMastery(): number {
    const need = [this.goal, ...this.world.ancestorsOf(this.goal)];
    return need.filter((x) => this.mastered.has(x)).length / need.length;
  }

  /** Studies `id`: learns it with the KSS probability; returns whether it is mastered afterwards. */
  study(id: string): boolean {
    const item = this.world.item(id);
    if (!item) return false; // not part of the curriculum (cannot happen with the simulated catalogue)
    if (this.mastered.has(id)) return true;
    const p = this.world.p;
    const pre = item.prerequisites;
    const ready = pre.length === 0 ? 1 : pre.filter((x) => this.mastered.has(x)).length / pre.length;
    const scale = 1 - p.difficultyWeight * item.difficulty;
    const pLearn = ready === 1 ? p.readyLearn * scale : p.unreadyLearn * ready * scale;
    if (this.r() < pLearn) this.mastered.add(id);
    return this.mastered.has(id);
  }

  /** A quiz answer on `id`: a noisy read of the hidden state. */
  answer(id: string): boolean {
    const p = this.world.p;
    return this.mastered.has(id) ? this.r() >= p.slip : this.r() < p.guess;
  }

  /** The learner's own uniform draw (strategy choices that need randomness). */
  draw(): number {
    return this.r();
  }
}
