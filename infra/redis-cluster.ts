/**
 * `npm run stack:redis-cluster`: a local 3-master Redis Cluster (infra/stack/redis-cluster.ts) in the foreground, on
 * the stack's Redis port + 500, +501, +502; prints the LEARNSTREAM_REDIS_CLUSTER_NODES value that points the
 * pipeline and the API at it. Ctrl-C stops the nodes and removes their data.
 */
import { loadConfig } from '../lib/config';
import { clusterPorts, startRedisCluster } from './stack/redis-cluster';

async function main(): Promise<void> {
  const config = loadConfig();
  const cluster = await startRedisCluster({ ports: clusterPorts(config.stack.redisPort), log: (m) => process.stdout.write(`${m}\n`) });
  process.stdout.write(`LEARNSTREAM_REDIS_CLUSTER_NODES=${cluster.nodes.join(',')}\n(Ctrl-C stops it)\n`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
