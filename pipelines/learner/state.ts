import type { LearnerFactors } from '../../models/collab';
import { KnowledgeModel, type KnowledgeModelState } from '../../models/knowledge/model';
import { ItemTable, type ItemTableJSON } from '../model/item-table';
import { createHash } from 'node:crypto';
import { b64ToF32, f32ToB64 } from '../../consumers/state/codec';
import { EngagedSet } from '../model/engaged';
import { EventIdWindow } from './dedup';
import { ReviewDeck, type ReviewDeckJSON } from '../../models/review/deck';

export function erasureKey(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 32);
}

/** Everything the pipeline keeps about one learner. Bounded: `history` holds at most `historyLength` resource ids. */
export interface Learner {
  /** Collaborative factors (models/collab row: vector, bias, event count, last event time). */
  cf: LearnerFactors;
  /** Exact number of interaction events learned from. */
  interactions: number;
  /** Exact number of quiz attempts learned from. */
  quizzes: number;
  /** Most recent distinct resources, newest last. */
  history: string[];
  interests: string[];
  /**
   * Resources completed ('complete' interactions), newest last, at most COMPLETED_LENGTH: never recommended again,
   * and they satisfy prerequisites in the ranker.
   */
  completed: string[];
  /** Kafka timestamp (ms) of the newest event applied: the list's eventTime. */
  lastEventAt: number;
  /** Every resource engaged with (fingerprints): never recommended again, beyond the history's bound too. */
  engaged?: EngagedSet;
  /**
   * The eventIds of the learner's last DEDUP_WINDOW interactions and quiz attempts (./dedup.ts): a duplicate of one
   * of them is not applied again. Created with the learner's first event that has an eventId.
   */
  seen?: EventIdWindow;
  /** FSRS review cards of what the learner practised (models/review), bounded; created with the first rated review. */
  reviews?: ReviewDeck;
}

/** State of one partition group of the learner stage. */
export interface LearnerGroup {
  learners: Map<string, Learner>;
  /**
   * Knowledge tracing of the group's learners. Its population terms (item and skill easiness) are learned per group
   * from that group's learners: with userId partitioning every group sees a random sample of learners, so each
   * estimates the same population parameters, and the learner-side beliefs are exactly per learner.
   */
  knowledge: KnowledgeModel;
  /** Synchronous mode only: the authoritative item table, owned by this (single) group. */
  items?: ItemTable;
  /**
   * Erased learners: sha-256 of the userId -> Kafka timestamp of the erasure. Events of that learner stamped at or
   * before it (sent before the request, but on another topic and so possibly consumed after it) are discarded instead
   * of re-creating the learner. Kept for ERASURE_MEMORY_MS only.
   */
  erased: Map<string, number>;
  /**
   * Each learner's row as the last serializeGroup built it (frozen), until learnerChanged(): a checkpoint costs what
   * changed. Not state: rebuilt at will.
   */
  rows?: WeakMap<Learner, LearnerGroupJSON['learners'][number]>;
}

/**
 * Every change to a learner of the group goes with this call (the processor's learnerOf, which every event's changes
 * go through): the learner's next checkpoint row is built afresh instead of reused.
 */
export function learnerChanged(g: LearnerGroup, l: Learner): void {
  g.rows?.delete(l);
}

/** Completed resources kept per learner (bounded memory; older completions may be recommended again). */
export const COMPLETED_LENGTH = 1000;

/** How long an erasure marker (hashed id + time) is kept to catch events sent before the erasure. 24 h. */
export const ERASURE_MEMORY_MS = 24 * 3600_000;

export interface LearnerGroupJSON {
  learners: [
    string,
    {
      f: string;
      b: number;
      c: number;
      lt: number | null;
      n: number;
      q: number;
      h: string[];
      i: string[];
      t: number;
      d?: string[];
      e?: string;
      g?: string;
      r?: ReviewDeckJSON;
    },
  ][];
  knowledge: KnowledgeModelState;
  items?: ItemTableJSON;
  erased?: [string, number][];
}

/**
 * The group's state as plain data. Learners' rows are frozen and, with `reuse` (default), the same objects as the
 * last call's for learners not changed since (learnerChanged): a store may skip re-encoding a row it is handed again
 * (consumers/state/checkpoint.ts). A row shares the learner's arrays (history, interests, completions), which change
 * only with the learner, that is after its row stopped being handed out.
 */
export function serializeGroup(g: LearnerGroup, { reuse = true }: { reuse?: boolean } = {}): LearnerGroupJSON {
  const learners: LearnerGroupJSON['learners'] = [];
  const cache = reuse ? (g.rows ??= new WeakMap()) : undefined;
  for (const [id, l] of g.learners) {
    let row = cache?.get(l);
    if (row?.[0] !== id) {
      row = Object.freeze([
        id,
        {
          f: f32ToB64(l.cf.vector),
          b: l.cf.bias,
          c: l.cf.count,
          lt: Number.isNaN(l.cf.lastT) ? null : l.cf.lastT,
          n: l.interactions,
          q: l.quizzes,
          h: l.history,
          i: l.interests,
          t: l.lastEventAt,
          ...(l.completed.length ? { d: l.completed } : {}),
          ...(l.seen?.length ? { e: l.seen.toB64() } : {}),
          ...(l.engaged && l.engaged.size > 0 ? { g: l.engaged.toB64() } : {}),
          ...(l.reviews && l.reviews.size > 0 ? { r: l.reviews.toJSON() } : {}),
        },
      ]) as LearnerGroupJSON['learners'][number];
      cache?.set(l, row);
    }
    learners.push(row);
  }
  return {
    learners,
    knowledge: g.knowledge.serialize({ reuse }),
    ...(g.items ? { items: g.items.toJSON() } : {}),
    erased: [...g.erased],
  };
}

export function deserializeGroup(j: LearnerGroupJSON): LearnerGroup {
  const learners = new Map<string, Learner>();
  for (const [id, l] of j.learners)
    learners.set(id, {
      cf: { vector: b64ToF32(l.f), bias: l.b, count: l.c, lastT: l.lt ?? Number.NaN },
      interactions: l.n,
      quizzes: l.q,
      history: l.h,
      interests: l.i,
      completed: l.d ?? [],
      lastEventAt: l.t,
      engaged: l.g ? EngagedSet.fromB64(l.g) : engagedOf(l.h, l.d ?? []),
      ...(l.e ? { seen: EventIdWindow.fromB64(l.e) } : {}),
      ...(l.r ? { reviews: ReviewDeck.fromJSON(l.r) } : {}),
    });
  return {
    learners,
    knowledge: KnowledgeModel.deserialize(j.knowledge),
    ...(j.items ? { items: ItemTable.fromJSON(j.items) } : {}),
    erased: new Map(j.erased ?? []),
  };
}

/** Appends `id` as the newest entry, dropping an older duplicate and the oldest entries beyond `max`. */
export function pushHistory(h: string[], id: string, max: number): void {
  const at = h.lastIndexOf(id);
  if (at >= 0) h.splice(at, 1);
  h.push(id);
  if (h.length > max) h.splice(0, h.length - max);
}

/** A checkpoint written before the engaged set existed: what its history and completions still name. */
function engagedOf(history: readonly string[], completed: readonly string[]): EngagedSet {
  const e = new EngagedSet(history.length + completed.length);
  for (const id of history) e.add(id);
  for (const id of completed) e.add(id);
  return e;
}
