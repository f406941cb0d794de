/**
 * Worker-thread entry for `npm run eval -- --workers N`: runs one recommender over the stream and posts the result.
 * Each worker reads the dataset itself (a ~50 ms parse) rather than receiving 100k events through postMessage.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runOne } from './recommendation';

interface Job {
  path: string;
  limit?: number;
  from?: number;
  method: string;
  seed: number;
}

const job = workerData as Job;
parentPort?.postMessage(runOne(job.path, job.limit, job.method, job.seed, job.from));
