/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function
 * and per package, so a benchmark run can say where the server's time went.
 */
import fs from 'node:fs';

function packageOf(url) {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const app = /\/(apps\/server|packages\/[^/]+)\/(?:dist|src)\/(.+)$/.exec(url);
  if (app) return `tether:${app[2].replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url;
}

export function summarizeProfile(file, top = 25) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before sample i.
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const pkgs = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${packageOf(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const pkg = cf.url ? packageOf(cf.url) : name.startsWith('(') ? name : '(native)';
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  const idle = (self.size && [...self].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0)) || 0;
  return {
    file,
    seconds: Math.round(total / 1e4) / 100,
    busyPercent: pct(total - idle),
    functions: [...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), pct: pct(us) })),
    packages: [...pkgs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, us]) => ({ pkg, ms: Math.round(us / 1000), pct: pct(us) })),
  };
}
