import type { EmbedFn } from '../../models/content/text';
import { resourceText } from '../../models/content/text';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { ServingStore } from '../../lib/serving/types';
import type { Decode } from '../decode';
import type { CollabModel } from '../model/collab';
import type { ItemSink } from '../item/sink';
import type { GroupProcessor, InputRecord } from '../runner/stage-runner';

export interface CatalogProcessorOptions {
  decode: Decode;
  model: CollabModel;
  store: ServingStore;
  /** model.item-updates: upserts (with cold-start factors) and removals go to the item owner. */
  sink: ItemSink;
  /** The ONNX content encoder (lib/encoder); undefined = no content vectors (seeded random start). */
  embed?: EmbedFn;
  emit: Emitter;
  logger: Logger;
}

/**
 * The catalogue stage: a resource upsert puts its facts in the serving store, embeds its text (ONNX sentence
 * encoder), maps the content vector into factor space (cold start) and sends an upsert to the item owner, which
 * broadcasts it: every learner replica then has a recommendable row before anyone interacted with it. An inactive
 * resource or a tombstone becomes a removal, which every learner instance turns into an immediate re-rank of the lists
 * that contain it. Idempotent per record (the same resource gives the same outputs), so it needs no model state: its
 * checkpoint holds offsets only.
 */
export class CatalogProcessor implements GroupProcessor<Record<string, never>> {
  readonly stage = 'catalog';

  constructor(private readonly o: CatalogProcessorOptions) {}

  restore(): void {}
  snapshot(): Record<string, never> {
    return {};
  }
  drop(): void {}

  flush(): Promise<void> {
    return this.o.sink.flush();
  }

  ready(): boolean {
    return this.o.sink.backlog <= 5000;
  }

  async apply(_group: number, rec: InputRecord): Promise<void> {
    const id = rec.key?.toString('utf8');
    if (rec.value === null) {
      if (!id) return;
      this.o.emit.emit('event.consumed', { topic: rec.topic, type: 'resource-deleted' });
      await this.o.store.deleteResource(id);
      this.o.sink.send({ kind: 'remove', itemId: id });
      return;
    }
    const ev = await this.o.decode(rec);
    if (!ev || ev.kind !== 'resource') return; // dead-lettered, or not a resource
    this.o.emit.emit('event.consumed', { topic: rec.topic, type: 'resource' });
    const r = ev.resource;
    if (!r) {
      await this.o.store.deleteResource(ev.resourceId);
      this.o.sink.send({ kind: 'remove', itemId: ev.resourceId });
      return;
    }
    const meta = { type: r.type, topics: r.topics, skills: r.skills, prerequisites: r.prerequisites, title: r.title, ...(r.difficulty != null ? { difficulty: r.difficulty } : {}) };
    await this.o.store.putResource({
      resourceId: ev.resourceId,
      title: r.title,
      type: r.type,
      topics: r.topics,
      skills: r.skills,
      active: r.active,
      ...(r.difficulty != null ? { difficulty: r.difficulty } : {}),
      ...(r.language ? { language: r.language } : {}),
    });
    if (!r.active) {
      this.o.sink.send({ kind: 'upsert', itemId: ev.resourceId, active: false, meta });
      return;
    }
    let content: Float32Array | undefined;
    if (this.o.embed) {
      const started = performance.now();
      [content] = await this.o.embed([resourceText({ title: r.title, description: r.description, topics: r.topics })]);
      this.o.emit.emit('stage.processed', { stage: 'catalog-embed', durationMs: performance.now() - started });
    }
    const f = this.o.model.newItemFactors(ev.resourceId, content);
    this.o.sink.send({ kind: 'upsert', itemId: ev.resourceId, f, b: 0, active: true, meta });
  }
}
