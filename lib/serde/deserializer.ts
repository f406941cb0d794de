import avro from 'avsc';
import type { Client } from '@confluentinc/schemaregistry';
import { PoisonMessageError, type DependencyError } from '../errors';
import { COMPACTED } from '../../schemas/topics';
import { AVRO_TYPES, validateEvent, type EventName, type EventTypes } from '../../schemas';
import { formatIssue } from '../../schemas/validate';
import { eventTopics, isNotFound, registryUnavailable, type EventTopic } from './subjects';

/** Stable reason codes of undecodable or invalid messages (the x-dlq-reason header). */
export type PoisonReason =
  | 'unknown-topic'
  | 'unexpected-tombstone'
  | 'not-confluent-framed'
  | 'unknown-schema-id'
  | 'schema-mismatch'
  | 'avro-decode-failed'
  | 'invalid-field'
  | 'missing-key'
  | 'key-mismatch'
  | 'decode-crashed';

export type Decoded<N extends EventName = EventName> = { [K in N]: { event: K; value: EventTypes[K]; schemaId: number } }[N];

/** A tombstone on a compacted topic: delete `key`. */
export interface Tombstone {
  event: null;
  key: string | null;
}

export interface DeserializerOptions {
  /** Clock for the future-timestamp rule (epoch ms). Default Date.now. */
  now?: () => number;
  /** How long an unknown schema id is remembered as unknown, so garbage cannot hammer the registry. Default 30 s. */
  negativeCacheMs?: number;
}

type ResolverEntry = { ok: true; resolver: avro.Resolver | null } | { ok: false; reason: PoisonReason; message: string; until: number };

/**
 * Decodes Confluent-framed Avro into the event shape compiled into this build (the reader schema), whatever version
 * the producer wrote with (the writer schema, fetched from the registry by id): avsc resolves writer -> reader, so an
 * old consumer reads new data without the new fields and a new consumer reads old data with defaults. The Confluent
 * AvroDeserializer decodes with the writer schema (or the latest registered one), which would hand typed code objects
 * of a shape it was not compiled for; that is why decoding is done here with the registry client only for lookups.
 *
 * Throws PoisonMessageError (with a PoisonReason) for anything that can never decode, DependencyError when the
 * registry is unreachable (retry later; the message itself may be fine).
 */
export class EventDeserializer {
  private readonly byTopic = new Map<string, EventTopic>();
  private readonly resolvers = new Map<string, Promise<ResolverEntry>>();
  private readonly now: () => number;
  private readonly negativeCacheMs: number;

  constructor(
    private readonly client: Client,
    prefix: string,
    opts: DeserializerOptions = {},
  ) {
    for (const t of eventTopics(prefix)) this.byTopic.set(t.topic, t);
    this.now = opts.now ?? Date.now;
    this.negativeCacheMs = opts.negativeCacheMs ?? 30_000;
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** `key` is the Kafka message key (null when absent); it must equal the event's key field. */
  async decode(topic: string, value: Buffer | null, key: Buffer | string | null = null): Promise<Decoded | Tombstone> {
    const t = this.byTopic.get(topic);
    if (!t) throw new PoisonMessageError('unknown-topic', `no event schema for topic ${topic}`, { context: { topic } });
    const keyText = key === null ? null : key.toString();
    if (value === null) {
      if (COMPACTED.has(t.key)) return { event: null, key: keyText };
      throw new PoisonMessageError('unexpected-tombstone', `null value on non-compacted topic ${topic}`, { context: { topic } });
    }
    if (value.length < 5 || value[0] !== 0) {
      throw new PoisonMessageError(
        'not-confluent-framed',
        `value is not in the Confluent wire format (${value.length} bytes, first byte ${value[0] ?? 'none'})`,
        { context: { topic } },
      );
    }
    const schemaId = value.readInt32BE(1);
    const entry = await this.resolver(t, schemaId);
    if (!entry.ok) throw new PoisonMessageError(entry.reason, entry.message, { context: { topic, schemaId } });
    const reader = AVRO_TYPES[t.event];
    let decoded: unknown;
    try {
      decoded = entry.resolver ? reader.fromBuffer(value.subarray(5), entry.resolver) : reader.fromBuffer(value.subarray(5));
    } catch (err) {
      throw new PoisonMessageError('avro-decode-failed', `Avro body does not decode with schema ${schemaId}: ${(err as Error).message}`, {
        cause: err,
        context: { topic, schemaId },
      });
    }
    const v = validateEvent(t.event, decoded, { now: this.now() });
    if (!v.ok) throw new PoisonMessageError('invalid-field', v.issues.map(formatIssue).join('; '), { context: { topic, schemaId } });
    const expectedKey = t.event === 'Resource' ? (v.value as EventTypes['Resource']).resourceId : (v.value as { userId: string }).userId;
    if (keyText === null)
      throw new PoisonMessageError('missing-key', `message has no key; expected ${expectedKey}`, { context: { topic } });
    if (keyText !== expectedKey)
      throw new PoisonMessageError(
        'key-mismatch',
        `key ${JSON.stringify(keyText.slice(0, 64))} differs from the event's ${JSON.stringify(expectedKey.slice(0, 64))}`,
        { context: { topic } },
      );
    return { event: t.event, value: v.value, schemaId } as Decoded;
  }

  private resolver(t: EventTopic, id: number): Promise<ResolverEntry> {
    const cacheKey = `${t.subject}#${id}`;
    const cached = this.resolvers.get(cacheKey);
    if (cached) {
      return cached.then((e) => {
        if (e.ok || e.until > this.now()) return e;
        this.resolvers.delete(cacheKey);
        return this.resolver(t, id);
      });
    }
    const p = this.loadResolver(t, id);
    this.resolvers.set(cacheKey, p);
    // Registry outages are not cached: the next message tries again.
    p.catch(() => this.resolvers.delete(cacheKey));
    return p;
  }

  private async loadResolver(t: EventTopic, id: number): Promise<ResolverEntry> {
    const fail = (reason: PoisonReason, message: string): ResolverEntry => ({
      ok: false,
      reason,
      message,
      until: this.now() + this.negativeCacheMs,
    });
    let info;
    try {
      info = await this.client.getBySubjectAndId(t.subject, id);
    } catch (err) {
      if (isNotFound(err)) return fail('unknown-schema-id', `schema id ${id} is not registered (subject ${t.subject})`);
      throw registryUnavailable(err, `fetching schema ${id}`) satisfies DependencyError;
    }
    if (info.schemaType && info.schemaType !== 'AVRO') return fail('schema-mismatch', `schema ${id} is ${info.schemaType}, not AVRO`);
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(JSON.parse(info.schema) as avro.Schema);
    } catch (err) {
      return fail('schema-mismatch', `schema ${id} does not parse as Avro: ${(err as Error).message}`);
    }
    const reader = AVRO_TYPES[t.event];
    if (writer.equals(reader)) return { ok: true, resolver: null };
    try {
      return { ok: true, resolver: reader.createResolver(writer) };
    } catch (err) {
      return fail(
        'schema-mismatch',
        `schema ${id} (${writer.name ?? writer.typeName}) cannot be read as ${t.event}: ${(err as Error).message}`,
      );
    }
  }
}
