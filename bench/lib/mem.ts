import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gcFn = vm.runInNewContext('gc') as () => void;

/** Full GC (twice: weak callbacks and finalizers can free more on the second pass). */
export function gc(): void {
  gcFn();
  gcFn();
}

/** Bytes held by the JS heap plus ArrayBuffers (typed arrays live outside the heap), after a full GC. */
export function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
