/**
 * The shared dictionary of list format 4 (serving/list-codec/format-4.ts): every distinct item (resource id + copied
 * catalogue facts), reason and model version that any stored list refers to, numbered 0, 1, 2, ... in the order they
 * were first written. Entries are never changed or removed, so both caches here are valid for the life of the
 * dictionary: the writer (learner stage) knows the numbers of what it wrote before and asks the backend only for new
 * entries (one round trip per list that has any), the reader (API) parses each entry once and asks the backend only
 * for numbers it has not seen (one round trip). The dictionary grows with the catalogue and the distinct reason texts
 * (a few per resource, skill and interest label), not with the learners.
 */
import {
  encodeCompact,
  entryOfItem,
  entryOfModel,
  entryOfReason,
  parseEntry,
  refsOf,
  type CompactList,
  type Entry,
  type ListRefs,
} from './list-codec/format-4';
import type { Reason, RecommendationList, RecommendedItem } from './types';

export interface DictionaryBackend {
  /** The numbers of `entries`, giving the next free numbers to those not in the dictionary yet (atomically). */
  assign(entries: string[]): Promise<number[]>;
  /** The entries numbered `refs` (null = no such number). */
  lookup(refs: number[]): Promise<(string | null)[]>;
}

interface ItemSeen {
  type: string | undefined;
  topics: string[] | undefined;
  skills: string[] | undefined;
  ref: number;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean => {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** The slot of a list's model version in refsOfMany's bookkeeping (items are >= 0, reasons < 0). */
const MODEL_SLOT = 0x7fffffff;

export class ListDictionary {
  /** Writer side: model version -> number (item and reason numbers are in the two maps below, keyed without JSON). */
  private readonly models = new Map<string, number>();
  /** Writer fast path: the last facts seen per resource id and their number (no JSON built for a known item). */
  private readonly items = new Map<string, ItemSeen>();
  /** Writer fast path: reason code -> text -> ref ('' key with `noRef`) -> number. */
  private readonly reasons = new Map<string, Map<string, { noRef?: number; refs?: Map<string, number> }>>();
  /** Reader side: number -> parsed entry (null = looked up and absent or corrupt). */
  private readonly entries: (Entry | null | undefined)[] = [];

  constructor(private readonly backend: DictionaryBackend) {}

  private ordered: Promise<void> = Promise.resolve();
  private queued = 0;

  /**
   * Encodes `list` as format 4 and passes the value to `write`, calling `write` in the order of the calls to this
   * method even when one list has new entries to number and the next has none (a later list must never be
   * overwritten by an earlier one that waited for its numbers). Known entries only: `write` is called at once.
   */
  write(list: RecommendationList, write: (value: Buffer) => Promise<void>): Promise<void> {
    if (this.queued === 0) {
      const refs = this.knownRefs(list);
      if (refs) return write(encodeCompact(list, refs));
    }
    this.queued++;
    const step = this.ordered.then(async () => ({ done: write(encodeCompact(list, await this.refsOf(list))) }));
    const dequeue = (): void => {
      this.queued--;
    };
    this.ordered = step.then(dequeue, dequeue);
    return step.then((s) => s.done);
  }

  /**
   * {@link write} for several lists at once: `write` gets their values in the same order, called once, after the
   * writes of earlier calls. Entries new to this process are numbered in one backend call for all the lists (a
   * re-rank batch of a cold dictionary: one round trip instead of one per list, each waiting for the one before).
   */
  writeMany(lists: readonly RecommendationList[], write: (values: Buffer[]) => Promise<void>): Promise<void> {
    if (this.queued === 0) {
      const values: Buffer[] = [];
      for (const list of lists) {
        const refs = this.knownRefs(list);
        if (!refs) break;
        values.push(encodeCompact(list, refs));
      }
      if (values.length === lists.length) return write(values);
    }
    this.queued++;
    const step = this.ordered.then(async () => {
      const refs = await this.refsOfMany(lists);
      return { done: write(lists.map((list, j) => encodeCompact(list, refs[j]))) };
    });
    const dequeue = (): void => {
      this.queued--;
    };
    this.ordered = step.then(dequeue, dequeue);
    return step.then((s) => s.done);
  }

  /** The dictionary numbers of what `list` refers to when all are known here; null when any is new. */
  knownRefs(list: RecommendationList): ListRefs | null {
    const model = this.models.get(list.modelVersion);
    if (model === undefined) return null;
    let nReasons = 0;
    for (const it of list.items) nReasons += it.reasons.length;
    const items = new Uint32Array(list.items.length);
    const reasons = new Uint32Array(nReasons);
    let k = 0;
    for (let i = 0; i < list.items.length; i++) {
      const it = list.items[i];
      const ref = this.itemRef(it);
      if (ref === undefined) return null;
      items[i] = ref;
      for (const r of it.reasons) {
        const rr = this.reasonRef(r);
        if (rr === undefined) return null;
        reasons[k++] = rr;
      }
    }
    return { model, items, reasons };
  }

  /**
   * The dictionary numbers of what `list` refers to, numbering new entries (one backend call). One pass over the list
   * finds the known numbers and the entries to number (in the order the backend numbers them: the model, then per
   * item its entry and its reasons'), the backend's answer fills the rest.
   */
  async refsOf(list: RecommendationList): Promise<ListRefs> {
    return (await this.refsOfMany([list]))[0];
  }

  /**
   * {@link refsOf} of several lists with one backend call: the entries to number in the order of one list after
   * the other (each list's as refsOf orders them; an entry named by several lists is numbered once, where it first
   * appears).
   */
  async refsOfMany(lists: readonly RecommendationList[]): Promise<ListRefs[]> {
    /** entry -> the slots it fills: list b's items[i] as [b, i], reasons[k] as [b, -(k + 1)] */
    const slots = new Map<string, number[]>();
    /** what to remember once numbered, by entry (the model entries: their version) */
    const learn = new Map<string, RecommendedItem | Reason | string>();
    const want = (entry: string, b: number, slot: number, what: RecommendedItem | Reason | string): void => {
      const at = slots.get(entry);
      if (at) at.push(b, slot);
      else {
        slots.set(entry, [b, slot]);
        learn.set(entry, what);
      }
    };
    const out: { model: number; items: Uint32Array; reasons: Uint32Array }[] = [];
    for (let b = 0; b < lists.length; b++) {
      const list = lists[b];
      let nReasons = 0;
      for (const it of list.items) nReasons += it.reasons.length;
      const refs = { model: 0, items: new Uint32Array(list.items.length), reasons: new Uint32Array(nReasons) };
      out.push(refs);
      // the model first, as the backend always numbered it (known or not, it is asked: one entry, and it orders the rest)
      want(entryOfModel(list.modelVersion), b, MODEL_SLOT, list.modelVersion);
      let k = 0;
      for (let i = 0; i < list.items.length; i++) {
        const it = list.items[i];
        const ref = this.itemRef(it);
        if (ref === undefined) want(entryOfItem(it), b, i, it);
        else refs.items[i] = ref;
        for (const r of it.reasons) {
          const rr = this.reasonRef(r);
          if (rr === undefined) want(entryOfReason(r), b, -(k + 1), r);
          else refs.reasons[k] = rr;
          k++;
        }
      }
    }
    const unique = [...slots.keys()];
    const numbers = await this.backend.assign(unique);
    unique.forEach((e, j) => {
      const n = numbers[j];
      const at = slots.get(e)!;
      for (let s = 0; s < at.length; s += 2) {
        const refs = out[at[s]];
        const slot = at[s + 1];
        if (slot === MODEL_SLOT) refs.model = n;
        else if (slot >= 0) refs.items[slot] = n;
        else refs.reasons[-slot - 1] = n;
      }
      const what = learn.get(e)!;
      if (typeof what === 'string') this.models.set(what, n);
      else if ('resourceId' in what) this.rememberItem(what, n);
      else this.rememberReason(what, n);
    });
    return out;
  }

  private itemRef(it: RecommendedItem): number | undefined {
    const seen = this.items.get(it.resourceId);
    // Facts changed since (or never seen): the backend knows, or numbers, the entry.
    return seen && seen.type === it.type && sameList(seen.topics, it.topics) && sameList(seen.skills, it.skills) ? seen.ref : undefined;
  }
  private rememberItem(it: RecommendedItem, ref: number): void {
    // Copies: a caller may reuse its arrays, and the cache must compare against what was numbered.
    this.items.set(it.resourceId, { type: it.type, topics: it.topics?.slice(), skills: it.skills?.slice(), ref });
  }
  private reasonRef(r: Reason): number | undefined {
    const t = this.reasons.get(r.code)?.get(r.text);
    return r.ref === undefined ? t?.noRef : t?.refs?.get(r.ref);
  }
  private rememberReason(r: Reason, ref: number): void {
    let byText = this.reasons.get(r.code);
    if (!byText) this.reasons.set(r.code, (byText = new Map<string, { noRef?: number; refs?: Map<string, number> }>()));
    let t = byText.get(r.text);
    if (!t) byText.set(r.text, (t = {}));
    if (r.ref === undefined) t.noRef = ref;
    else (t.refs ??= new Map()).set(r.ref, ref);
  }

  /**
   * Forgets every number (writer and reader caches). For a dictionary that may have been lost: Redis came back empty
   * or from another copy, where the same number can name another entry. The next write numbers its entries again,
   * the next read looks them up again.
   */
  reset(): void {
    this.models.clear();
    this.items.clear();
    this.reasons.clear();
    this.entries.length = 0;
  }

  /** Loads the entries a parsed list refers to that are not cached yet (none, once warm: no call, no allocation). */
  loadList(c: CompactList): Promise<void> | undefined {
    const e = this.entries;
    let cold = e[c.model] === undefined;
    for (let i = 0; !cold && i < c.items.length; i++) cold = e[c.items[i]] === undefined;
    for (let i = 0; !cold && i < c.reasons.length; i++) cold = e[c.reasons[i]] === undefined;
    return cold ? this.load(refsOf(c)) : undefined;
  }

  /** Loads the entries of `refs` not cached yet (one backend call at most). */
  async load(refs: Iterable<number>): Promise<void> {
    const want = [...new Set([...refs].filter((ref) => this.entries[ref] === undefined))];
    if (want.length === 0) return;
    const texts = await this.backend.lookup(want);
    want.forEach((ref, j) => {
      const t = texts[j];
      // An absent number is not cached: it may be a list written by a writer whose entry is still on its way.
      if (t !== null) this.entries[ref] = parseEntry(t);
    });
  }

  /** A cached entry (load it first); undefined when absent, null when corrupt. */
  readonly entry = (ref: number): Entry | undefined => this.entries[ref] ?? undefined;
}

/** The backend of a store that keeps its dictionary in process (MemoryServingStore, tests). */
export function memoryDictionaryBackend(): DictionaryBackend {
  const numbers = new Map<string, number>();
  const texts: string[] = [];
  return {
    assign(entries) {
      return Promise.resolve(
        entries.map((e) => {
          let n = numbers.get(e);
          if (n === undefined) numbers.set(e, (n = texts.push(e) - 1));
          return n;
        }),
      );
    },
    lookup(refs) {
      return Promise.resolve(refs.map((r) => texts[r] ?? null));
    },
  };
}
