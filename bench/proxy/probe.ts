// Loaded into each proxy process the bench measures (`node --require probe.js`, so every thread
// loads it too), for two figures the kernel cannot give:
// - which thread is which: each thread writes its thread id and role (a worker's `role` in its
//   workerData, else `main`) to <BENCH_PROBE_DIR>/<pid>.threads, and the main thread lists the
//   threads that exist before any code of the process runs (V8's platform threads);
// - bytes allocated on the main thread's heap between two marks: the first SIGUSR2 starts a
//   `v8.GCProfiler`, the second stops it and writes to <BENCH_PROBE_DIR>/<pid>.alloc the bytes
//   allocated in between: the heap's growth plus what each collection in between freed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { isMainThread, workerData } from 'node:worker_threads';

const dir = process.env.BENCH_PROBE_DIR;

function threadId(): string {
  // "<pid>/task/<tid>"
  return path.basename(fs.readlinkSync('/proc/thread-self'));
}

function label(): void {
  if (!dir) return;
  const role = isMainThread ? 'main' : String((workerData as { role?: unknown } | null)?.role ?? 'worker');
  const lines = [`${threadId()} ${role}`];
  if (isMainThread) {
    for (const tid of fs.readdirSync('/proc/self/task')) if (tid !== String(process.pid)) lines.push(`${tid} startup`);
  }
  fs.appendFileSync(path.join(dir, `${process.pid}.threads`), `${lines.join('\n')}\n`);
}

interface GcHeap {
  heapStatistics: { usedHeapSize: number };
}
interface GcStatistics {
  statistics: { beforeGC: GcHeap; afterGC: GcHeap }[];
}

function countAllocations(): void {
  if (!dir || !isMainThread) return;
  let profiler: v8.GCProfiler | null = null;
  let usedAtStart = 0;
  process.on('SIGUSR2', () => {
    if (!profiler) {
      profiler = new v8.GCProfiler();
      profiler.start();
      usedAtStart = v8.getHeapStatistics().used_heap_size;
      return;
    }
    const usedAtEnd = v8.getHeapStatistics().used_heap_size;
    const stats = profiler.stop() as unknown as GcStatistics;
    profiler = null;
    let freed = 0;
    for (const gc of stats.statistics) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    const file = path.join(dir, `${process.pid}.alloc`);
    fs.writeFileSync(`${file}.tmp`, `${usedAtEnd - usedAtStart + freed} ${stats.statistics.length}\n`);
    fs.renameSync(`${file}.tmp`, file);
  });
}

try {
  label();
  countAllocations();
} catch (err) {
  process.stderr.write(`bench probe: ${(err as Error).message}\n`);
}
