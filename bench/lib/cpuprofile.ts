import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';

/**
 * CPU profile of one phase of a scenario (not the start-up or the data generation): the in-process equivalent of
 * `node --cpu-prof`, started and stopped around the part being explained. Writes bench/results/<name>.cpuprofile
 * (open in Chrome DevTools, or summarise with `npx tsx bench/profile.ts <file>`).
 */
export function startProfile(name: string): (() => Promise<string>) & { started: Promise<void> } {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  const started = post('Profiler.enable')
    .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
    .then(() => post('Profiler.start'));
  const stop = async () => {
    await started;
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    const dir = path.join(__dirname, '..', 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    return file;
  };
  // `started` lets a caller that profiles one phase of several wait until samples are really being taken.
  return Object.assign(stop, { started: started.then(() => undefined) });
}
