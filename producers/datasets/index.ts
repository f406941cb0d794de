/**
 * Dataset readers: real public learning datasets mapped to learnstream events in time order, for replay, tests and
 * evaluation. Each reader also exports plain records (ratings, results, sequences) for code that needs no events.
 */
import * as path from 'node:path';
import { readEdnet } from './ednet';
import { readMovieLens } from './movielens';
import { readOulad } from './oulad';
import { readStatics } from './statics';
import type { Dataset, DatasetName, ReadOptions } from './types';

export * from './types';
export * from './movielens';
export * from './oulad';
export * from './ednet';
export * from './statics';

/** Where the shared datasets live relative to the repository root (never copied into the repo). */
export const SHARED_DATASETS_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'datasets');

export const DEFAULT_DATASET_DIRS: Readonly<Record<DatasetName, string>> = {
  movielens: path.join(SHARED_DATASETS_DIR, 'movielens-latest-small'),
  oulad: path.join(SHARED_DATASETS_DIR, 'oulad'),
  ednet: path.join(SHARED_DATASETS_DIR, 'ednet-sample'),
  statics: path.join(SHARED_DATASETS_DIR, 'statics2011-dkvmn'),
};

export function readDataset(name: DatasetName, dir: string = DEFAULT_DATASET_DIRS[name], opts: ReadOptions = {}): Dataset {
  switch (name) {
    case 'movielens':
      return readMovieLens(dir, opts);
    case 'oulad':
      return readOulad(dir, opts);
    case 'ednet':
      return readEdnet(dir, opts);
    case 'statics':
      return readStatics(dir, opts);
  }
}
