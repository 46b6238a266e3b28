// Reports the dashboard's JavaScript: what the first page load fetches (the entry
// chunk and its static imports), gzipped, against the 500 KB budget; and the total.
// Usage: node scripts/bundle-size.mjs [--json]   (after `vite build`)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET_GZIP_BYTES = 500 * 1024;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');

const gz = (file) => zlib.gzipSync(fs.readFileSync(path.join(dist, file)), { level: 9 }).length;
const raw = (file) => fs.statSync(path.join(dist, file)).size;

// Entry scripts and preloads named by index.html, then their static imports (not import()).
const queue = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g)].map((m) => m[1]);
const firstLoad = new Set();
while (queue.length) {
  const file = queue.shift();
  if (firstLoad.has(file)) continue;
  firstLoad.add(file);
  const code = fs.readFileSync(path.join(dist, file), 'utf8');
  for (const m of code.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\bfrom\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(path.posix.join(path.posix.dirname(file), m[1]));
}

const all = fs
  .readdirSync(path.join(dist, 'assets'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => `assets/${f}`);
const sum = (files, f) => files.reduce((n, file) => n + f(file), 0);
const report = {
  firstLoad: { files: [...firstLoad], bytes: sum([...firstLoad], raw), gzipBytes: sum([...firstLoad], gz) },
  total: { files: all.length, bytes: sum(all, raw), gzipBytes: sum(all, gz) },
  chunks: Object.fromEntries(all.map((f) => [f, { bytes: raw(f), gzipBytes: gz(f) }])),
  budgetGzipBytes: BUDGET_GZIP_BYTES,
};

if (process.argv.includes('--json')) console.log(JSON.stringify(report, null, 2));
else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`first load JS: ${kb(report.firstLoad.gzipBytes)} gzipped (${kb(report.firstLoad.bytes)} raw) in ${report.firstLoad.files.join(', ')}`);
  console.log(`all JS:        ${kb(report.total.gzipBytes)} gzipped (${kb(report.total.bytes)} raw) in ${report.total.files} chunks`);
  for (const [f, c] of Object.entries(report.chunks)) console.log(`  ${f.padEnd(40)} ${kb(c.gzipBytes).padStart(9)} gzipped ${kb(c.bytes).padStart(10)} raw`);
  console.log(`budget:        ${kb(BUDGET_GZIP_BYTES)} gzipped for the first load`);
}
if (report.firstLoad.gzipBytes > BUDGET_GZIP_BYTES) {
  console.error('first-load JavaScript is over budget');
  process.exit(1);
}
