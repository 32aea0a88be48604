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

/** One thread of another process: its name (`comm`) and CPU milliseconds used so far. */
export interface ThreadCpu {
  readonly comm: string;
  readonly ms: number;
}

/** CPU milliseconds used so far by each live thread of process `pid`, by thread id; threads that exit between two reads are missing from the second. */
export function processThreadsCpuMs(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { comm, ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks });
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out;
}
