/**
 * Acceptance 3 of issue 3, against the real registry (Apicurio ccompat): subjects are BACKWARD, a compatible change
 * (new optional field with a default) registers and the reader compiled into this build still decodes data written
 * with it; an incompatible change is refused by the registry itself. Also: our framing is byte-identical to the
 * Confluent AvroSerializer's and the Confluent AvroDeserializer reads it.
 */
import {
  AvroDeserializer,
  Compatibility,
  SerdeType,
  SubjectNameStrategyType,
  type SchemaRegistryClient,
} from '@confluentinc/schemaregistry';
import avro from 'avsc';
import type { Config } from '../../lib/config';
import { PoisonMessageError } from '../../lib/errors';
import { EventDeserializer, EventSerializer, registerSchemas, valueSubject } from '../../lib/serde';
import { topicName } from '../../schemas/topics';
import { SCHEMAS, type LearningInteraction } from '../../schemas';
import { testConfig, testRegistry } from '../helpers';

const NOW = Date.now();
const event: LearningInteraction = {
  eventId: 'ev-1',
  userId: 'u-1',
  resourceId: 'r-1',
  type: 'complete',
  value: null,
  dwellMs: 1234,
  occurredAt: NOW - 1000,
  context: { platform: 'web', device: 'desktop', session: 's-1' },
  review: false,
  recommId: null,
};

function frame(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

describe('schema evolution against the real registry', () => {
  let config: Config;
  let registry: SchemaRegistryClient;
  let topic: string;
  let subject: string;

  beforeAll(async () => {
    config = testConfig('ev-evolve');
    registry = testRegistry(config);
    await registerSchemas(registry, config);
    topic = topicName('interactions', config.kafka.topicPrefix);
    subject = valueSubject(topic);
  }, 30_000);

  it('sets BACKWARD on every event subject and registers idempotently', async () => {
    for (const key of ['interactions', 'quizAttempts', 'resources', 'profiles', 'erasures'] as const) {
      expect(await registry.getCompatibility(valueSubject(topicName(key, config.kafka.topicPrefix)))).toBe(Compatibility.BACKWARD);
    }
    const again = await registerSchemas(registry, config);
    expect(again.find((s) => s.topic === topic)!.id).toBe(
      await registry.getId(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMAS.LearningInteraction) }, false),
    );
  });

  it('frames byte-identically to the Confluent AvroSerializer, and the Confluent AvroDeserializer reads our bytes', async () => {
    const ser = await EventSerializer.create(registry, config.kafka.topicPrefix);
    const ours = ser.serializeSync(topic, event);
    expect(ours.equals(await ser.serializeWithConfluent(topic, event))).toBe(true);
    const confluent = new AvroDeserializer(registry, SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
    expect(await confluent.deserialize(topic, ours)).toEqual(event);
  });

  it('a new optional field with a default registers, and the old (compiled) reader still decodes v2 data', async () => {
    const v2Schema = JSON.parse(JSON.stringify(SCHEMAS.LearningInteraction));
    v2Schema.fields.push({ name: 'mood', type: ['null', 'string'], default: null, doc: 'How the learner felt (added in v2).' });
    const v2Id = await registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v2Schema) }, false);
    const v1Id = await registry.getId(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMAS.LearningInteraction) }, false);
    expect(v2Id).not.toBe(v1Id);
    expect((await registry.getLatestSchemaMetadata(subject)).id).toBe(v2Id);

    const v2Bytes = frame(v2Id, avro.Type.forSchema(v2Schema).toBuffer({ ...event, mood: 'curious' }));
    const oldReader = new EventDeserializer(registry, config.kafka.topicPrefix);
    const decoded = await oldReader.decode(topic, v2Bytes, 'u-1');
    expect(decoded).toEqual({ event: 'LearningInteraction', value: event, schemaId: v2Id });
    expect('mood' in (decoded as { value: object }).value).toBe(false);
    // v1 data keeps decoding after v2 is registered.
    const v1Bytes = frame(v1Id, avro.Type.forSchema(SCHEMAS.LearningInteraction as unknown as avro.Schema).toBuffer(event));
    expect(await oldReader.decode(topic, v1Bytes, 'u-1')).toMatchObject({ value: event, schemaId: v1Id });
  });

  it('the registry itself refuses incompatible changes', async () => {
    const required = JSON.parse(JSON.stringify(SCHEMAS.LearningInteraction));
    required.fields.push({ name: 'tenant', type: 'string', doc: 'required, no default' });
    const retyped = JSON.parse(JSON.stringify(SCHEMAS.LearningInteraction));
    Object.assign(
      retyped.fields.find((f: { name: string }) => f.name === 'userId'),
      { type: 'long' },
    );
    for (const bad of [required, retyped]) {
      await expect(registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(bad) }, false)).rejects.toMatchObject({
        status: 409,
      });
      expect(await registry.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: JSON.stringify(bad) })).toBe(false);
    }
  });

  it("data written with another subject's schema, or an unknown id, is poison with a reason", async () => {
    const quizId = await registry.getId(
      valueSubject(topicName('quizAttempts', config.kafka.topicPrefix)),
      { schemaType: 'AVRO', schema: JSON.stringify(SCHEMAS.QuizAttempt) },
      false,
    );
    const quiz = avro.Type.forSchema(SCHEMAS.QuizAttempt as unknown as avro.Schema).toBuffer({
      eventId: 'q',
      userId: 'u-1',
      itemId: 'i',
      resourceId: null,
      skills: [],
      correct: true,
      score: null,
      attempt: 1,
      responseTimeMs: 0,
      occurredAt: NOW,
    });
    const reader = new EventDeserializer(registry, config.kafka.topicPrefix);
    await expect(reader.decode(topic, frame(quizId, quiz), 'u-1')).rejects.toMatchObject({ reason: 'schema-mismatch' });
    const err = await reader.decode(topic, frame(2_000_000_000, Buffer.from([1, 2, 3])), 'u-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoisonMessageError);
    expect(err).toMatchObject({ reason: 'unknown-schema-id' });
  });
});
