/**
 * `npm run experiment -- report <id> [--json] [--mde 0.1]`: CTR and quiz success rate per variant of a configured
 * experiment, with Wilson 95% intervals and the impressions still needed (scripts/experiment/report.ts), recomputed
 * from Kafka (scripts/experiment/replay.ts). `npm run experiment -- list`: the configured experiments.
 */
import { loadConfig } from '../lib/config';
import { errorMessage } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { createRegistryClient } from '../lib/registry/client';
import { buildReport, formatReport } from './experiment/report';
import { replayTotals } from './experiment/replay';

async function main(argv: string[]): Promise<void> {
  const [cmd, id, ...rest] = argv;
  const config = loadConfig();
  if (cmd === 'list') {
    for (const e of config.experiments)
      process.stdout.write(
        `${e.id}${e.active ? '' : ' (inactive)'}: ${e.variants.map((v) => `${v.name} ${v.weight}`).join(', ')}${e.description ? ` - ${e.description}` : ''}\n`,
      );
    return;
  }
  if (cmd !== 'report' || !id)
    throw new Error('usage: npm run experiment -- report <experimentId> [--json] [--mde <relative lift>] | list');
  const experiment = config.experiments.find((e) => e.id === id);
  if (!experiment)
    throw new Error(`no experiment ${id} in the configuration (configured: ${config.experiments.map((e) => e.id).join(', ') || 'none'})`);
  const json = rest.includes('--json');
  const mdeAt = rest.indexOf('--mde');
  const mde = mdeAt >= 0 ? Number(rest[mdeAt + 1]) : 0.1;
  if (!(mde > 0)) throw new Error('--mde must be a positive relative lift, e.g. 0.1');
  const kafka = createKafka(config, 'experiment-report');
  const report = buildReport(experiment, await replayTotals(config, kafka, createRegistryClient(config)), mde);
  process.stdout.write(
    json ? `${JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? null : v), 2)}\n` : `${formatReport(report)}\n`,
  );
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`experiment: ${errorMessage(err)}\n`);
  process.exit(1);
});
