import type { EmbedFn } from '../../models/content/text';
import { resourceText } from '../../models/content/text';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { hasCurriculum, type CurriculumStore } from '../../serving/curriculum';
import type { ServingStore } from '../../serving/types';
import type { Decode, PipelineEvent } from '../../consumers/event-types';
import type { CollabModel } from '../model/collab';
import type { ItemSink, RecordSink } from '../item/sink';
import { encodeContentVector } from '../content-messages';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';
import { ContentIndex, type ContentIndexJSON } from './content-index';
import type { LearnedColdStart } from './cold-start';

/** Catalogue checkpoint: the group's embedded resources (older checkpoints hold none). */
export interface CatalogGroupJSON {
  content?: ContentIndexJSON;
}

/** Similar-items lists hold this many resources. */
const SIMILAR_K = 20;
/** Resources with new co-engagement whose lists are rebuilt per tick, and the tick (ms). */
const CO_BATCH = 200;
const CO_TICK_MS = 1000;

export interface CatalogProcessorOptions {
  decode: Decode;
  model: CollabModel;
  store: ServingStore;
  /** model.item-updates: upserts (with cold-start factors) and removals go to the item owner. */
  sink: ItemSink;
  /**
   * model.content-vectors (compacted): each active resource's content vector, tombstoned when it leaves, so learner
   * instances can match declared interests by content. Undefined = not published.
   */
  contentVectors?: RecordSink;
  /**
   * The learned content-to-factor map (trained from the item replica); undefined, or not trained on enough resources
   * yet, = the seeded projection of the content vector (CollabModel.newItemFactors).
   */
  coldStart?: LearnedColdStart;
  /** The ONNX content encoder (lib/encoder); undefined = no content vectors (seeded random start). */
  embed?: EmbedFn;
  emit: Emitter;
  logger: Logger;
  /** How often (ms) lists of resources with new co-engagement are rebuilt. Default 1000; 0 = never. */
  coEngagementTickMs?: number;
}

/**
 * The catalogue stage: a resource upsert puts its facts in the serving store, embeds its text (ONNX sentence
 * encoder), maps the content vector into factor space (cold start) and sends an upsert to the item owner, which
 * broadcasts it: every learner replica then has a recommendable row before anyone interacted with it. An inactive
 * resource or a tombstone becomes a removal, which every learner instance turns into an immediate re-rank of the lists
 * that contain it. Idempotent per record (the same resource gives the same outputs).
 *
 * Similar items: the embedded resources form a content index; after embedding a resource its nearest neighbours
 * become its similar-items list, and the lists of the neighbours it enters are rewritten (at most SIMILAR_K). The
 * lists blend in co-engagement, which the learner stage counts in the serving store: resources with new
 * co-engagement get their list rebuilt every second. The checkpoint holds the group's content vectors, so a restart
 * does not re-embed the catalogue.
 */
export class CatalogProcessor implements GroupProcessor<CatalogGroupJSON> {
  readonly stage = 'catalog';
  readonly content = new ContentIndex(SIMILAR_K);
  private coTimer: NodeJS.Timeout | null = null;
  private coRunning = false;
  /** Where learning paths read the prerequisite graph, skills and content vectors (the store, when it keeps them). */
  private readonly curriculum: CurriculumStore | undefined;

  constructor(private readonly o: CatalogProcessorOptions) {
    this.curriculum = hasCurriculum(o.store) ? o.store : undefined;
    const tick = o.coEngagementTickMs ?? CO_TICK_MS;
    if (tick > 0) {
      this.coTimer = setInterval(() => void this.refreshCoEngaged(), tick);
      this.coTimer.unref();
    }
  }

  /**
   * True once this instance restored a checkpoint or applied a record: before that the serving view holds nothing of
   * its making that a rewrite could restore (the runner consumes from the start anyway), and ./rewrite.ts skips the
   * replay.
   */
  holdsState = false;

  restore(group: number, state: CatalogGroupJSON | null): void {
    if (state) this.holdsState = true;
    this.content.restore(group, state?.content);
    if (this.o.coldStart) for (const id of this.content.idsOf(group)) this.o.coldStart.contentChanged(id);
  }
  snapshot(group: number): CatalogGroupJSON {
    return { content: this.content.toJSON(group) };
  }
  drop(group: number): void {
    const ids = this.o.coldStart ? this.content.idsOf(group) : [];
    this.content.dropGroup(group);
    for (const id of ids) this.o.coldStart!.contentChanged(id);
  }

  stop(): void {
    if (this.coTimer) clearInterval(this.coTimer);
    this.coTimer = null;
  }

  /** Rewrites the similar-items lists of `ids` (content neighbours blended with co-engagement read now). */
  private async writeSimilar(ids: readonly string[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const co = await this.o.store.getCoEngaged(id, SIMILAR_K);
        if (!this.content.has(id)) return; // removed meanwhile
        const items = this.content.similar(id, co);
        if (items.length > 0 || (await this.o.store.getSimilar(id)) !== null) await this.o.store.putSimilar(id, items);
      }),
    );
  }

  /** Resources whose co-engagement changed get their list rebuilt; bounded per tick. */
  async refreshCoEngaged(): Promise<void> {
    if (this.coRunning) return;
    this.coRunning = true;
    try {
      const ids = (await this.o.store.takeCoEngagementChanges(CO_BATCH)).filter((id) => this.content.has(id));
      await this.writeSimilar(ids);
    } catch (err) {
      this.o.logger.debug('co-engagement refresh failed (derived data, retried next tick)', { err });
    } finally {
      this.coRunning = false;
    }
  }

  private async removeContent(id: string): Promise<void> {
    // A tombstone for every removal, indexed or not: compaction then drops the key, and replicas forget it.
    this.o.contentVectors?.push(id, null);
    if (this.content.has(id)) await this.curriculum?.putContentVector(id, null);
    const changed = this.content.remove(id);
    this.o.coldStart?.contentChanged(id);
    await this.writeSimilar(changed);
  }

  async flush(): Promise<void> {
    await this.o.sink.flush();
    await this.o.contentVectors?.flush();
  }

  ready(): boolean {
    return this.waitingFor() === undefined;
  }

  waitingFor(): string | undefined {
    if (this.o.sink.backlog > 5000) return `item-updates producer: ${this.o.sink.backlog} records not acknowledged (> 5000)`;
    const content = this.o.contentVectors?.backlog ?? 0;
    if (content > 5000) return `content-vectors producer: ${content} records not acknowledged (> 5000)`;
    return undefined;
  }

  /** The resource's catalogue entry and curriculum node in the serving store. */
  private async putFacts(resourceId: string, r: NonNullable<Extract<PipelineEvent, { kind: 'resource' }>['resource']>): Promise<void> {
    await this.o.store.putResource({
      resourceId,
      title: r.title,
      type: r.type,
      topics: r.topics,
      skills: r.skills,
      active: r.active,
      ...(r.difficulty != null ? { difficulty: r.difficulty } : {}),
      ...(r.language ? { language: r.language } : {}),
    });
    // inactive resources too: what a retired resource built on is still required of what needs it
    await this.curriculum?.putCurriculumNode({
      resourceId,
      title: r.title,
      prerequisites: r.prerequisites,
      skills: r.skills,
      active: r.active,
    });
  }

  /**
   * Serving-view rewrite (./rewrite.ts): the serving-store part of `apply` for one record replayed from
   * catalog.resources — entry and curriculum node, or their deletion — without embedding, without sending to the
   * item owner or the content-vectors topic (their state is intact). A record that does not decode is skipped (the
   * decoder dead-letters it a second time). Returns the resource id it wrote.
   */
  async rewriteFacts(rec: InputRecord): Promise<string | undefined> {
    const id = rec.key?.toString('utf8');
    if (rec.value === null) {
      if (!id) return undefined;
      await this.o.store.deleteResource(id);
      await this.curriculum?.deleteCurriculumNode(id);
      return id;
    }
    const ev = await this.o.decode(rec).catch(() => null);
    if (!ev || ev.kind !== 'resource') return undefined;
    if (!ev.resource) {
      await this.o.store.deleteResource(ev.resourceId);
      await this.curriculum?.deleteCurriculumNode(ev.resourceId);
      return ev.resourceId;
    }
    await this.putFacts(ev.resourceId, ev.resource);
    return ev.resourceId;
  }

  /** Serving-view rewrite: the content vector and similar-items list of every resource in the content index. */
  async rewriteSimilarAll(): Promise<number> {
    const ids = this.content.allIds();
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      if (this.curriculum)
        await Promise.all(
          chunk.map(async (id) => {
            const v = this.content.vector(id);
            if (v) await this.curriculum!.putContentVector(id, v);
          }),
        );
      await this.writeSimilar(chunk);
    }
    return ids.length;
  }

  async apply(group: number, rec: InputRecord): Promise<void> {
    this.holdsState = true;
    const id = rec.key?.toString('utf8');
    if (rec.value === null) {
      if (!id) return;
      this.o.emit.emit('event.consumed', { topic: rec.topic, type: 'resource-deleted' });
      await this.o.store.deleteResource(id);
      await this.curriculum?.deleteCurriculumNode(id);
      this.o.sink.send({ kind: 'remove', itemId: id });
      await this.removeContent(id);
      return;
    }
    const ev = await this.o.decode(rec);
    if (!ev || ev.kind !== 'resource') return; // dead-lettered, or not a resource
    this.o.emit.emit('event.consumed', { topic: rec.topic, type: 'resource' });
    const r = ev.resource;
    if (!r) {
      await this.o.store.deleteResource(ev.resourceId);
      await this.curriculum?.deleteCurriculumNode(ev.resourceId);
      this.o.sink.send({ kind: 'remove', itemId: ev.resourceId });
      await this.removeContent(ev.resourceId);
      return;
    }
    const meta = {
      type: r.type,
      topics: r.topics,
      skills: r.skills,
      prerequisites: r.prerequisites,
      title: r.title,
      ...(r.difficulty != null ? { difficulty: r.difficulty } : {}),
    };
    await this.putFacts(ev.resourceId, r);
    if (!r.active) {
      this.o.sink.send({ kind: 'upsert', itemId: ev.resourceId, active: false, meta });
      await this.removeContent(ev.resourceId);
      return;
    }
    let content: Float32Array | undefined;
    if (this.o.embed) {
      const started = performance.now();
      [content] = await this.o.embed([resourceText({ title: r.title, description: r.description, topics: r.topics })]);
      this.o.emit.emit('stage.processed', { stage: 'catalog-embed', durationMs: performance.now() - started });
    }
    // From text alone: the factor and bias resources with similar text earned, once the map has learned enough.
    const learned = content ? this.o.coldStart?.predict(content) : undefined;
    const f = learned?.vector ?? this.o.model.newItemFactors(ev.resourceId, content);
    this.o.sink.send({ kind: 'upsert', itemId: ev.resourceId, f, b: learned?.bias ?? 0, active: true, meta });
    if (content) {
      this.o.contentVectors?.push(ev.resourceId, encodeContentVector(content));
      await this.curriculum?.putContentVector(ev.resourceId, content);
      const started = performance.now();
      const changed = this.content.upsert(ev.resourceId, content, r.title, group);
      this.o.coldStart?.contentChanged(ev.resourceId);
      this.o.emit.emit('stage.processed', { stage: 'catalog-similar', durationMs: performance.now() - started });
      await this.writeSimilar(changed);
    }
  }
}
