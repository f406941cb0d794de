/**
 * Attribution of one partition group's learners (pure; the experiment stage, pipelines/experiment/, owns one per
 * group and checkpoints it with the input offsets, so the counts are exact across a crash):
 *
 *   - a learner enters a variant with their first impression from a list of that variant (exposure); the variant is
 *     the one the list was ranked under, named by its recommId (models/experiments/recommId.ts);
 *   - an impression counts once per (recommId, resource); one from another variant of the same experiment (the
 *     configuration changed under the learner) is counted as a crossover, not in the CTR;
 *   - a click counts when it quotes a recommId and a resource that learner was shown and had not clicked yet
 *     (CTR = clicks / impressions stays a proportion); any other click with a recommId is `unmatched`;
 *   - every quiz attempt of an exposed learner after their exposure counts as an attempt, a correct one as a success.
 *     Quiz attempts come on another topic than impressions, so one may be read before the impression that exposed
 *     the learner earlier in time: each learner's last PENDING_QUIZZES attempts are kept and counted when the
 *     exposure is read. The counts then do not depend on how the two topics interleave (a live stage and a replay
 *     from Kafka agree).
 *
 * All counts live in per-learner records (the variant totals are their sums), so erasing a learner removes their
 * records and their share of every total.
 */
import { parseRecommId } from './recomm-id';

export const COUNTERS = ['impressions', 'clicks', 'attempts', 'successes', 'crossovers', 'unmatched'] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

/** Lists remembered per learner and experiment for click matching, and resources remembered per list. */
export const RECENT_LISTS = 8;
export const SHOWN_PER_LIST = 100;
/** Quiz attempts remembered per learner, for an exposure read after them (see above). */
export const PENDING_QUIZZES = 32;

interface RecentList {
  recommId: string;
  shown: string[];
  clicked: string[];
}

interface LearnerRecord extends Counts {
  variant: string;
  exposedAt: number;
  recent: RecentList[];
}

export interface VariantTotals extends Counts {
  experiment: string;
  variant: string;
  /** Exposed learners. */
  learners: number;
}

export interface TallyJSON {
  records: { u: string; e: string; r: LearnerRecord }[];
  /** userId -> recent quiz attempts as [occurredAt, correct ? 1 : 0] */
  quizzes: [string, [number, number][]][];
}

const zero = (): Counts => ({ impressions: 0, clicks: 0, attempts: 0, successes: 0, crossovers: 0, unmatched: 0 });

export class ExperimentTally {
  /** userId -> experiment id -> record */
  private readonly learners = new Map<string, Map<string, LearnerRecord>>();
  private readonly totals = new Map<string, VariantTotals>();
  /** userId -> the learner's recent quiz attempts [occurredAt, correct], oldest first */
  private readonly quizzes = new Map<string, [number, number][]>();

  /** An impression (one resource shown from the list `recommId`). Returns what it counted as. */
  impression(userId: string, recommId: string | null | undefined, resourceId: string, at: number): Counter | null {
    const ref = parseRecommId(recommId);
    if (!ref) return null;
    let mine = this.learners.get(userId);
    let rec = mine?.get(ref.experiment);
    if (!rec) {
      rec = { ...zero(), variant: ref.variant, exposedAt: at, recent: [] };
      if (!mine) this.learners.set(userId, (mine = new Map<string, LearnerRecord>()));
      mine.set(ref.experiment, rec);
      this.total(ref.experiment, ref.variant).learners++;
      for (const [qAt, correct] of this.quizzes.get(userId) ?? []) {
        if (qAt < at) continue;
        this.bump(ref.experiment, rec, 'attempts');
        if (correct) this.bump(ref.experiment, rec, 'successes');
      }
    }
    if (rec.variant !== ref.variant) return this.bump(ref.experiment, rec, 'crossovers');
    let list = rec.recent.find((l) => l.recommId === recommId);
    if (!list) {
      list = { recommId: recommId!, shown: [], clicked: [] };
      rec.recent.push(list);
      if (rec.recent.length > RECENT_LISTS) rec.recent.shift();
    }
    if (list.shown.includes(resourceId)) return null; // the same item of the same list shown again: counted once
    if (list.shown.length >= SHOWN_PER_LIST) return null;
    list.shown.push(resourceId);
    return this.bump(ref.experiment, rec, 'impressions');
  }

  /** A click on `resourceId` quoting the list `recommId`. */
  click(userId: string, recommId: string | null | undefined, resourceId: string): Counter | null {
    const ref = parseRecommId(recommId);
    if (!ref) return null;
    const rec = this.learners.get(userId)?.get(ref.experiment);
    if (!rec) return null; // never exposed: nothing of theirs to attribute (and nothing kept about them)
    const list = rec.variant === ref.variant ? rec.recent.find((l) => l.recommId === recommId) : undefined;
    if (!list || !list.shown.includes(resourceId) || list.clicked.includes(resourceId)) return this.bump(ref.experiment, rec, 'unmatched');
    list.clicked.push(resourceId);
    return this.bump(ref.experiment, rec, 'clicks');
  }

  /** A quiz attempt: counted for every experiment the learner was exposed to before `at`. */
  quiz(userId: string, correct: boolean, at: number): void {
    let recent = this.quizzes.get(userId);
    if (!recent) this.quizzes.set(userId, (recent = []));
    recent.push([at, correct ? 1 : 0]);
    if (recent.length > PENDING_QUIZZES) recent.shift();
    const mine = this.learners.get(userId);
    if (!mine) return;
    for (const [experiment, rec] of mine) {
      if (at < rec.exposedAt) continue;
      this.bump(experiment, rec, 'attempts');
      if (correct) this.bump(experiment, rec, 'successes');
    }
  }

  /** Erasure: the learner's records go, and with them their share of every total. */
  erase(userId: string): boolean {
    const hadQuizzes = this.quizzes.delete(userId);
    const mine = this.learners.get(userId);
    if (!mine) return hadQuizzes;
    for (const [experiment, rec] of mine) {
      const t = this.total(experiment, rec.variant);
      t.learners--;
      for (const c of COUNTERS) t[c] -= rec[c];
    }
    this.learners.delete(userId);
    return true;
  }

  /** Whether any record about the learner is kept. */
  has(userId: string): boolean {
    return this.learners.has(userId) || this.quizzes.has(userId);
  }

  /** The learner's own counts per experiment they were exposed to (empty when none). */
  learnerCounts(userId: string): ({ experiment: string; variant: string } & Counts)[] {
    const out: ({ experiment: string; variant: string } & Counts)[] = [];
    for (const [experiment, r] of this.learners.get(userId) ?? []) {
      const counts = Object.fromEntries(COUNTERS.map((c) => [c, r[c]])) as Counts;
      out.push({ experiment, variant: r.variant, ...counts });
    }
    return out;
  }

  get learnerCount(): number {
    return this.learners.size;
  }

  /** Per experiment and variant, the sums over this group's learners. */
  variantTotals(): VariantTotals[] {
    return [...this.totals.values()].map((t) => ({ ...t }));
  }

  toJSON(): TallyJSON {
    const records: TallyJSON['records'] = [];
    for (const [u, mine] of this.learners) for (const [e, r] of mine) records.push({ u, e, r });
    return { records, quizzes: [...this.quizzes] };
  }

  static fromJSON(json: TallyJSON | null | undefined): ExperimentTally {
    const t = new ExperimentTally();
    for (const [u, q] of json?.quizzes ?? [])
      t.quizzes.set(
        u,
        q.map(([at, c]) => [at, c]),
      );
    for (const { u, e, r } of json?.records ?? []) {
      let mine = t.learners.get(u);
      if (!mine) t.learners.set(u, (mine = new Map<string, LearnerRecord>()));
      const rec: LearnerRecord = { ...zero(), ...r, recent: r.recent.map((l) => ({ ...l, shown: [...l.shown], clicked: [...l.clicked] })) };
      mine.set(e, rec);
      const tot = t.total(e, rec.variant);
      tot.learners++;
      for (const c of COUNTERS) tot[c] += rec[c];
    }
    return t;
  }

  private bump(experiment: string, rec: LearnerRecord, c: Counter): Counter {
    rec[c]++;
    this.total(experiment, rec.variant)[c]++;
    return c;
  }

  private total(experiment: string, variant: string): VariantTotals {
    const k = `${experiment}\u0000${variant}`;
    let t = this.totals.get(k);
    if (!t) this.totals.set(k, (t = { experiment, variant, learners: 0, ...zero() }));
    return t;
  }
}

/** Sums totals from several groups (or instances) per experiment and variant. */
export function sumTotals(parts: Iterable<VariantTotals>): VariantTotals[] {
  const out = new Map<string, VariantTotals>();
  for (const p of parts) {
    const k = `${p.experiment}\u0000${p.variant}`;
    const t = out.get(k) ?? { experiment: p.experiment, variant: p.variant, learners: 0, ...zero() };
    t.learners += p.learners;
    for (const c of COUNTERS) t[c] += p[c];
    out.set(k, t);
  }
  return [...out.values()];
}
