/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by area (our folders, each dependency, GC, idle)
 * and the top functions. `npx tsx bench/profile.ts <file.cpuprofile> [--top 25]`. Used for docs/benchmarks.md where a
 * target is missed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The checkout this file belongs to. */
const ROOT = path.resolve(__dirname, '..');

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  // our own code: its first one or two folders under the checkout, wherever the checkout is
  const file = url.replace(/^file:\/\//, '');
  const rel = file.startsWith(ROOT + '/') ? file.slice(ROOT.length + 1) : null;
  const m = rel !== null ? /^([^/]+\/(?:[^/]+\/)?)/.exec(rel) : /\/([^/]+\/[^/]+\/)[^/]+$/.exec(url);
  return m ? m[1] : url;
}

export function summarise(p: CpuProfile, top = 25): { byArea: [string, number][]; byFunction: [string, number][]; totalMs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // A gap far longer than the sampling interval means the process was off the CPU (a shared machine) or the profiler
  // was starting/stopping: charging it to whatever ran next would be wrong, so each sample counts at most 2 ms.
  for (let i = 1; i < p.samples.length; i++)
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + Math.min(2000, p.timeDeltas[i] ?? 0) / 1000);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '')}:${n.callFrame.lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + ms);
    total += ms;
  }
  const sort = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { byArea: sort(areas), byFunction: sort(fns), totalMs: total };
}

if (require.main === module) {
  const file = process.argv[2];
  const topArg = process.argv.indexOf('--top');
  const top = topArg > 0 ? Number(process.argv[topArg + 1]) : 25;
  const s = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, top);
  const busy = s.totalMs - (s.byArea.find(([a]) => a === '(idle)')?.[1] ?? 0);
  process.stdout.write(`total ${s.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms not idle\n\nself time by area (% of non-idle)\n`);
  for (const [a, ms] of s.byArea)
    process.stdout.write(
      `  ${a.padEnd(36)} ${ms.toFixed(0).padStart(7)} ms ${a === '(idle)' ? '' : ((100 * ms) / busy).toFixed(1) + '%'}\n`,
    );
  process.stdout.write('\ntop functions by self time\n');
  for (const [f, ms] of s.byFunction) process.stdout.write(`  ${ms.toFixed(0).padStart(7)} ms  ${f}\n`);
}
