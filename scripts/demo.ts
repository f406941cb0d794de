/**
 * Demo event source for `npm start`: publishes a catalogue and learner profiles, then a steady stream of clicks,
 * completions and quiz answers from simulated learners who prefer their declared interests. Stops on SIGTERM/SIGINT
 * after flushing what it has published.
 *
 *   npx tsx scripts/demo.ts [--rate 20] [--learners 40] [--resources 300]
 */
import { loadConfig } from '../lib/config';
import { errorMessage } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { createRegistryClient } from '../lib/registry/client';
import { Publisher } from '../producers/publisher';
import type { InteractionType, ResourceInput } from '../schemas';
import { mulberry32 } from '../models/random/prng';
import { demoCatalogue } from './demo/catalogue';

function arg(argv: string[], name: string, dflt: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const rate = arg(argv, 'rate', 20);
  const learners = arg(argv, 'learners', 40);
  const config = loadConfig();
  const random = mulberry32(config.model.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const publisher = await Publisher.create({
    kafka: createKafka(config, 'demo'),
    registry: createRegistryClient(config),
    topicPrefix: config.kafka.topicPrefix,
  });
  const { resources, source } = demoCatalogue(arg(argv, 'resources', 300));
  process.stdout.write(`demo: catalogue = ${source}\n`);
  await Promise.all(resources.map((r) => publisher.upsertResource(r)));

  const byTopic = new Map<string, ResourceInput[]>();
  for (const r of resources) for (const t of r.topics ?? []) byTopic.set(t, [...(byTopic.get(t) ?? []), r]);
  const topics = [...byTopic.keys()];
  const people = Array.from({ length: learners }, (_, i) => ({
    userId: `demo-learner-${i + 1}`,
    interests: [pick(topics), pick(topics)],
    ability: random() * 2 - 1,
  }));
  await Promise.all(
    people.map((p) =>
      publisher.upsertProfile({ userId: p.userId, interests: p.interests, level: 'beginner', language: 'en', updatedAt: Date.now() }),
    ),
  );
  process.stdout.write(`demo: ${people.length} learner profiles published; streaming ~${rate} events/s\n`);

  let stop = false;
  let sent = 0;
  const stopNow = () => {
    stop = true;
  };
  process.on('SIGTERM', stopNow);
  process.on('SIGINT', stopNow);
  const types: InteractionType[] = ['view', 'click', 'click', 'start', 'complete', 'bookmark', 'like'];
  while (!stop) {
    const p = pick(people);
    // 80% of choices come from the learner's interests: that is the signal the model should find.
    const pool = random() < 0.8 ? (byTopic.get(pick(p.interests)) ?? resources) : resources;
    const r = pick(pool);
    const now = Date.now();
    const eventId = `demo-${now}-${sent}`;
    if (random() < 0.25) {
      const difficulty = (r.difficulty ?? 0.5) * 2 - 1;
      const correct = random() < 1 / (1 + Math.exp(-(p.ability - difficulty) * 2));
      void publisher
        .publishQuizAttempt({
          eventId,
          userId: p.userId,
          itemId: `${r.resourceId}-q${1 + Math.floor(random() * 5)}`,
          resourceId: r.resourceId,
          skills: r.skills ?? [],
          correct,
          attempt: 1,
          responseTimeMs: 5000 + Math.floor(random() * 30000),
          occurredAt: now,
        })
        .catch((err: unknown) => process.stderr.write(`demo: ${errorMessage(err)}\n`));
    } else {
      void publisher
        .publishInteraction({
          eventId,
          userId: p.userId,
          resourceId: r.resourceId,
          type: pick(types),
          dwellMs: Math.floor(random() * 600_000),
          occurredAt: now,
          context: { platform: 'demo', device: 'desktop', session: null },
        })
        .catch((err: unknown) => process.stderr.write(`demo: ${errorMessage(err)}\n`));
    }
    sent++;
    if (sent % (rate * 30) === 0) process.stdout.write(`demo: ${sent} events published\n`);
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await publisher.close();
  process.stdout.write(`demo: stopped after ${sent} events\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`demo: ${errorMessage(err)}\n`);
  process.exit(1);
});
