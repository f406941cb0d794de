/**
 * Issue 21, schema evolution of learning.interactions for experiments, checked against the real registry as
 * events-schema-evolution.test.ts does: v2 adds the `impression` symbol (the enum has a default) and an optional
 * `recommId` (default null). The registry accepts v2 over v1 under BACKWARD; the v2 reader decodes v1 data (recommId
 * null); a v1 reader decodes v2 data, an impression reading as the enum default `view`, which is why consumers
 * deploy first (docs/events.md).
 */
import avro from 'avsc';
import { Compatibility } from '@confluentinc/schemaregistry';
import { EventDeserializer, registerSchemas, valueSubject } from '../../lib/serde';
import { topicName } from '../../schemas/topics';
import { SCHEMAS } from '../../schemas';
import { testConfig, testRegistry } from '../helpers';

type Field = { name: string; type: unknown };
function v1Schema(): Record<string, unknown> {
  const s = JSON.parse(JSON.stringify(SCHEMAS.LearningInteraction)) as { fields: Field[] };
  s.fields = s.fields.filter((f) => f.name !== 'recommId');
  const type = s.fields.find((f) => f.name === 'type')!.type as { symbols: string[] };
  type.symbols = type.symbols.filter((x) => x !== 'impression');
  return s;
}
const frame = (id: number, body: Buffer) =>
  Buffer.concat([Buffer.from([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]), body]);

describe('learning.interactions v1 -> v2 (impression, recommId) against the real registry', () => {
  it("registers under BACKWARD and both readers decode the other side's data", async () => {
    const config = testConfig('exp-schema');
    const registry = testRegistry(config);
    const topic = topicName('interactions', config.kafka.topicPrefix);
    const subject = valueSubject(topic);
    const v1 = v1Schema();
    // v1 as it was, then the current (v2) through the product's own registration
    await registry.updateCompatibility(subject, Compatibility.BACKWARD).catch(() => undefined);
    const v1Id = await registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) }, false);
    expect(
      await registry.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMAS.LearningInteraction) }),
    ).toBe(true);
    await registerSchemas(registry, config);
    const v2Id = (await registry.getLatestSchemaMetadata(subject)).id!;
    expect(v2Id).not.toBe(v1Id);

    const base = {
      eventId: 'e1',
      userId: 'u1',
      resourceId: 'r1',
      value: null,
      dwellMs: 0,
      occurredAt: Date.now() - 1000,
      context: { platform: 'web', device: null, session: null },
    };
    const reader = new EventDeserializer(registry, config.kafka.topicPrefix);
    // v1 data, v2 reader: recommId null
    const v1Bytes = frame(v1Id, avro.Type.forSchema(v1 as unknown as avro.Schema).toBuffer({ ...base, type: 'click' }));
    expect(await reader.decode(topic, v1Bytes, 'u1')).toMatchObject({ value: { ...base, type: 'click', recommId: null } });
    // v2 data, v2 reader
    const imp = { ...base, type: 'impression', recommId: 'exp.a.k1' };
    const v2Bytes = frame(v2Id, avro.Type.forSchema(SCHEMAS.LearningInteraction as unknown as avro.Schema).toBuffer(imp));
    expect(await reader.decode(topic, v2Bytes, 'u1')).toMatchObject({ value: imp });
    // v2 data, v1 reader (avsc schema resolution, as an old consumer does): the impression reads as 'view'
    const oldReader = avro.Type.forSchema(v1 as unknown as avro.Schema);
    const writer = avro.Type.forSchema(SCHEMAS.LearningInteraction as unknown as avro.Schema);
    const resolved = oldReader.fromBuffer(v2Bytes.subarray(5), oldReader.createResolver(writer)) as Record<string, unknown>;
    expect(resolved).toMatchObject({ ...base, type: 'view' });
    expect('recommId' in resolved).toBe(false);
  }, 60_000);
});
