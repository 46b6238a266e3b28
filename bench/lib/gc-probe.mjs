// Loaded into the server by scenario 5 only (node --expose-gc --import …): on SIGUSR2 it
// collects garbage and prints the process's memory, so the report can tell memory a
// connection keeps from garbage the connection storm left behind. Changes nothing else.
import process from 'node:process';
import v8 from 'node:v8';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  process.stderr.write(
    `GC_PROBE ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }])) })}\n`,
  );
});
