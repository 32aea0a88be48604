// CPU time as Linux accounts it in /proc, for benchmarks that report CPU per request or record.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU milliseconds (user + system) used so far by the process or thread a `/proc/.../stat` file describes. */
export function cpuMs(statFile: string): number {
  const stat = fs.readFileSync(statFile, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** CPU milliseconds used so far by each thread of this process, by thread id. */
export function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) out.set(Number(tid), cpuMs(`/proc/self/task/${tid}/stat`));
  return out;
}
