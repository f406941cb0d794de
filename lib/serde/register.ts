import { Compatibility, type Client } from '@confluentinc/schemaregistry';
import type { Config } from '../config';
import { DependencyError, LearnstreamError } from '../errors';
import { schemaText } from '../../schemas';
import { eventTopics, registryUnavailable, type EventTopic } from './subjects';

export interface RegisteredSubject extends EventTopic {
  id: number;
}

export interface RegisterOptions {
  /** Extra topic prefix after config.kafka.topicPrefix (tests use a random one). Default ''. */
  extraPrefix?: string;
  /** Compatibility level set per subject. Default BACKWARD: consumers upgrade first, new fields need defaults. */
  compatibility?: Compatibility;
}

/**
 * Registers the compiled-in schema of every event topic (subject `<topic>-value`) and sets the subject's
 * compatibility level first, so the registry itself refuses an incompatible version. Idempotent: registering the same
 * schema again returns the existing id. This is the only place schemas get registered; serializers never auto-register.
 *
 * Apicurio (ccompat v7) accepts PUT /config/{subject} for a subject that has no versions yet and answers it with an
 * empty body, so the Confluent client's updateCompatibility resolves to undefined there; we read the level back to
 * be sure it took.
 */
export async function registerSchemas(client: Client, config: Config, opts: RegisterOptions = {}): Promise<RegisteredSubject[]> {
  const level = opts.compatibility ?? Compatibility.BACKWARD;
  const out: RegisteredSubject[] = [];
  for (const t of eventTopics(`${config.kafka.topicPrefix}${opts.extraPrefix ?? ''}`)) {
    try {
      await client.updateCompatibility(t.subject, level);
      const now = await client.getCompatibility(t.subject);
      if (now !== level) throw new LearnstreamError(`registry kept compatibility ${now} for ${t.subject}, wanted ${level}`);
      const id = await client.register(t.subject, { schemaType: 'AVRO', schema: schemaText(t.event) }, false);
      out.push({ ...t, id });
    } catch (err) {
      if (err instanceof LearnstreamError) throw err;
      const status = (err as { status?: number }).status;
      // 409 = the registry refused the schema as incompatible with the subject's history: not a transient problem.
      if (status === 409 || status === 422)
        throw new LearnstreamError(`schema for ${t.subject} refused by the registry: ${(err as Error).message}`, { cause: err });
      throw registryUnavailable(err, `registering ${t.subject}`) satisfies DependencyError;
    }
  }
  return out;
}
