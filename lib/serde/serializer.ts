import { AvroSerializer, SerdeType, SubjectNameStrategyType, type Client } from '@confluentinc/schemaregistry';
import { ConfigError, LearnstreamError } from '../errors';
import { AVRO_TYPES, schemaText, type EventName, type EventTypes } from '../../schemas';
import { eventTopics, isNotFound, registryUnavailable } from './subjects';

interface TopicSerde {
  event: EventName;
  id: number;
  /** Magic byte 0 + big-endian schema id: the Confluent wire-format prefix. */
  header: Buffer;
  serializer: AvroSerializer;
}

/**
 * Serializes events for the five event topics in the Confluent wire format (magic 0, 4-byte schema id, Avro body),
 * always with the schema compiled into this build. `create` looks up that schema's id under each subject
 * (autoRegister is off: registration is a deliberate act, see registerSchemas) and pins the Confluent AvroSerializer
 * to it with `useSchemaId`. Without a pin the Confluent serializer would infer a schema from the message object, which
 * never matches a registered one.
 *
 * Apicurio quirks handled here: the subject-name strategy is set to TOPIC explicitly (see below).
 */
export class EventSerializer {
  private constructor(private readonly byTopic: Map<string, TopicSerde>) {}

  /** `prefix` = the full topic prefix (config.kafka.topicPrefix + any test prefix). */
  static async create(client: Client, prefix: string): Promise<EventSerializer> {
    const byTopic = new Map<string, TopicSerde>();
    const missing: string[] = [];
    for (const t of eventTopics(prefix)) {
      let id: number;
      try {
        id = await client.getId(t.subject, { schemaType: 'AVRO', schema: schemaText(t.event) }, false);
      } catch (err) {
        if (isNotFound(err)) {
          missing.push(t.subject);
          continue;
        }
        throw registryUnavailable(err, `looking up the schema id of ${t.subject}`);
      }
      // TOPIC explicitly: the client's default (ASSOCIATED) first asks GET /associations/..., an endpoint Apicurio's
      // ccompat API does not have; Apicurio does not answer it with a 404 but lets it time out, so every first
      // serialize per topic stalled for the full HTTP timeout.
      const serializer = new AvroSerializer(client, SerdeType.VALUE, {
        autoRegisterSchemas: false,
        useSchemaId: id,
        subjectNameStrategyType: SubjectNameStrategyType.TOPIC,
      });
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      byTopic.set(t.topic, { event: t.event, id, header, serializer });
    }
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map((s) => `schema of this build is not registered under ${s}: run \`npm run schemas:register\` (or registerSchemas())`),
      );
    }
    return new EventSerializer(byTopic);
  }

  schemaId(topic: string): number {
    return this.get(topic).id;
  }

  /**
   * Serializes an already validated event: the 5-byte Confluent prefix + avsc encoding with the pinned schema.
   * Byte-identical to the Confluent AvroSerializer (an integration test checks it) but ~10x cheaper: that serializer
   * re-stringifies the schema for its cache keys and takes two mutexes per message, which capped a replay at about
   * 1,000 events/s on the shared 2-core machine.
   */
  serializeSync<N extends EventName>(topic: string, event: EventTypes[N]): Buffer {
    const t = this.get(topic);
    try {
      return Buffer.concat([t.header, AVRO_TYPES[t.event].toBuffer(event)]);
    } catch (err) {
      throw new LearnstreamError(`cannot serialize ${t.event} for ${topic}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Same bytes via the Confluent AvroSerializer (kept for interoperability checks and as the reference). */
  async serializeWithConfluent<N extends EventName>(topic: string, event: EventTypes[N]): Promise<Buffer> {
    const t = this.get(topic);
    try {
      return await t.serializer.serialize(topic, event);
    } catch (err) {
      if (err instanceof Error && err.name === 'SerializationError')
        throw new LearnstreamError(`cannot serialize ${t.event} for ${topic}: ${err.message}`, { cause: err });
      throw registryUnavailable(err, `serializing for ${topic}`);
    }
  }

  private get(topic: string): TopicSerde {
    const t = this.byTopic.get(topic);
    if (!t) throw new LearnstreamError(`no event schema for topic ${topic}`);
    return t;
  }
}
