import type { BenchArgs } from './lib/report';
export function run(_args: BenchArgs): Promise<void> {
  return Promise.reject(new Error('freshness: not built yet'));
}
