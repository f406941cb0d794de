/**
 * `npm run stack:up | stack:down | stack:status`: the local Kafka broker, schema registry and Redis (and Prometheus
 * with `up --with-prometheus`). The work is done in infra/stack/; this file only parses arguments and prints.
 */
import { loadConfig } from '../lib/config';
import { ConfigError, LearnstreamError } from '../lib/errors';
import { stackDown, stackStatus, stackUp, type ServiceStatus } from './stack/index';

function printStatus(rows: ServiceStatus[]): void {
  const lines = rows.map((s) => {
    const state = s.reachable ? 'up' : 'down';
    const owner = !s.managed ? 'external' : s.pid ? `pid ${s.pid}` : s.reachable ? 'not started here' : '-';
    return [s.service.padEnd(11), state.padEnd(5), `port ${s.port}`.padEnd(11), owner.padEnd(18), s.detail ?? ''].join(' ');
  });
  process.stdout.write(['service     state port        owner              detail', ...lines, ''].join('\n'));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...flags] = argv;
  const config = loadConfig();
  const log = (msg: string) => process.stdout.write(`stack: ${msg}\n`);
  switch (cmd) {
    case 'up': {
      const res = await stackUp(config, { withPrometheus: flags.includes('--with-prometheus'), log });
      const summary = Object.entries(res.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      log(`ready in ${res.seconds.toFixed(1)}s (${summary})`);
      printStatus(await stackStatus(config));
      return 0;
    }
    case 'down': {
      const res = await stackDown(config, { log });
      log(
        Object.entries(res)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      );
      return 0;
    }
    case 'status': {
      const rows = await stackStatus(config);
      printStatus(rows);
      return 0;
    }
    default:
      process.stderr.write('usage: tsx infra/stack.ts up [--with-prometheus] | down | status\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Prerequisite and config problems are expected situations: print the message and hint, not a stack trace.
    const known = err instanceof LearnstreamError || err instanceof AggregateError;
    process.stderr.write(`stack: ${known || err instanceof ConfigError ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
