/**
 * npm run curriculum -- --dataset junyi [--path <dir>] [--id-prefix P] [--no-register]
 *
 * Loads a curriculum (resources with prerequisite edges) into catalog.resources through the typed Publisher, where
 * the catalogue stage picks it up like any platform's catalogue. Creates missing topics and registers the schemas
 * (idempotent) unless --no-register. Last line of stdout is JSON.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config';
import { errorMessage } from '../../lib/errors';
import { createKafka } from '../../lib/kafka/client';
import { ensureTopics } from '../../lib/kafka/topics';
import { createRegistryClient } from '../../lib/registry/client';
import { registerSchemas } from '../../lib/serde';
import type { ResourceInput } from '../../schemas';
import { Publisher } from '../publisher';
import { JUNYI_DEFAULT_DIR, readJunyiExercises } from './junyi';
import { publishCurriculum } from './publish';

const CURRICULA: Record<string, { dir: string; read: (dir: string, idPrefix?: string) => ResourceInput[] }> = {
  junyi: { dir: JUNYI_DEFAULT_DIR, read: (dir, idPrefix) => readJunyiExercises(dir, { idPrefix }) },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dataset: { type: 'string' }, path: { type: 'string' }, 'id-prefix': { type: 'string' }, 'no-register': { type: 'boolean' } },
  });
  const c = values.dataset ? CURRICULA[values.dataset] : undefined;
  if (!c) throw new Error(`--dataset must be one of ${Object.keys(CURRICULA).join(', ')}`);
  const dir = values.path ?? c.dir;
  const resources = c.read(dir, values['id-prefix']);
  const config = loadConfig();
  const kafka = createKafka(config, 'curriculum');
  const registry = createRegistryClient(config);
  if (!values['no-register']) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config);
    } finally {
      await admin.disconnect();
    }
    await registerSchemas(registry, config);
  }
  const publisher = await Publisher.create({ kafka, registry, topicPrefix: config.kafka.topicPrefix });
  const t0 = performance.now();
  try {
    const n = await publishCurriculum(publisher, resources);
    const edges = resources.reduce((s, r) => s + (r.prerequisites?.length ?? 0), 0);
    process.stdout.write(
      `published ${n} ${values.dataset} resources (${edges} prerequisite edges, ${resources.filter((r) => r.active === false).length} inactive) from ${dir}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ dataset: values.dataset, resources: n, edges, durationMs: Math.round(performance.now() - t0) })}\n`,
    );
  } finally {
    await publisher.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`curriculum load failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
