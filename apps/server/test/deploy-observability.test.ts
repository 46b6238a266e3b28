/**
 * The operators' observability files (deploy/grafana/tether-dashboard.json,
 * deploy/prometheus/alerts.yaml) against a live server's GET /metrics: every metric a query
 * names is one the server exposes, and every label it filters or groups by is one that metric has.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

const DEPLOY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy');
/** Labels Prometheus itself puts on every scraped series. */
const TARGET_LABELS = ['instance', 'job'];
/** Series Prometheus makes, not Tether: whether the scrape worked. */
const PROMETHEUS_SERIES = ['up'];
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool']);

/** Every PromQL expression of the dashboard (panel targets and the variable's query). */
function dashboardExprs(): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'expr' || k === 'definition') && typeof x === 'string') out.push(x.replace(/^label_values\((\w+), *\w+\)$/, '$1'));
        else walk(x);
      }
    }
  };
  walk(JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana/tether-dashboard.json'), 'utf8')));
  return out;
}

function alertExprs(): string[] {
  return [...fs.readFileSync(path.join(DEPLOY, 'prometheus/alerts.yaml'), 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
}

/** The metric names an expression reads, the labels each selector filters on, and the labels it groups by. */
function parse(expr: string) {
  const selectors: { metric: string; labels: string[] }[] = [];
  const grouped: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g, (_, metric: string, inner: string) => {
    selectors.push({ metric, labels: [...inner.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!) });
    return metric;
  });
  rest = rest.replace(/\[[^\]]*\]/g, '');
  rest = rest.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_, _kw: string, inner: string) => {
    grouped.push(
      ...inner
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return '';
  });
  const metrics = [...rest.matchAll(/(?<![\w$.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)].map((m) => m[1]!).filter((t) => !KEYWORDS.has(t));
  return { metrics: [...new Set(metrics)], selectors, grouped };
}

let s: TestServer;
let exposed: Set<string>;
/** Label names of each metric family, from the server's own registry. */
let labelsOf: Map<string, string[]>;
beforeAll(async () => {
  s = await startServer();
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  exposed = new Set(PROMETHEUS_SERIES);
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exposed.add(name!);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${name}${suffix}`);
  }
  labelsOf = new Map(s.tether.metrics.registry.getMetricsAsArray().map((m) => [m.name, [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])]]));
});
afterAll(async () => {
  await s?.close();
});

const family = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');

it.each([
  ['the Grafana dashboard', dashboardExprs],
  ['the alerting rules', alertExprs],
])('%s reads only metrics and labels a live /metrics has', (_name, exprsOf) => {
  const exprs = exprsOf();
  expect(exprs.length).toBeGreaterThan(10);
  for (const expr of exprs) {
    const { metrics, selectors, grouped } = parse(expr);
    expect(metrics.length, expr).toBeGreaterThan(0);
    for (const m of metrics) expect(exposed.has(m), `${m} in ${expr}`).toBe(true);
    const allowed = (metric: string) => [
      ...TARGET_LABELS,
      ...(labelsOf.get(family(metric)) ?? labelsOf.get(metric) ?? []),
      ...(metric.endsWith('_bucket') ? ['le'] : []),
    ];
    for (const sel of selectors) for (const l of sel.labels) expect(allowed(sel.metric), `label ${l} of ${sel.metric} in ${expr}`).toContain(l);
    const anyLabel = new Set(metrics.flatMap(allowed));
    for (const l of grouped) expect([...anyLabel], `grouping by ${l} in ${expr}`).toContain(l);
  }
});

it('exposes readiness per dependency as tether_ready, as /readyz reports it', async () => {
  const ready = (await (await fetch(`${s.httpUrl}/readyz`)).json()) as { checks: Record<string, boolean | null> };
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  for (const [check, up] of Object.entries(ready.checks)) {
    const line = new RegExp(`^tether_ready\\{check="${check}"\\} (\\d)$`, 'm').exec(text);
    // A dependency this node does not use (null) is absent; the others are 1 while reachable.
    if (up === null) expect(line, check).toBeNull();
    else expect(line?.[1], check).toBe(up ? '1' : '0');
  }
  expect(ready.checks.database).toBe(true);
});

it('the parser finds what it must, so that the checks above can fail', () => {
  const p = parse('sum by (reason) (rate(tether_x_total{instance=~"$instance", outcome="closed"}[5m])) > 0.05 * scalar(up offset 5m)');
  expect(p.metrics.sort()).toEqual(['tether_x_total', 'up']);
  expect(p.selectors).toEqual([{ metric: 'tether_x_total', labels: ['instance', 'outcome'] }]);
  expect(p.grouped).toEqual(['reason']);
  expect(exposed.has('tether_x_total')).toBe(false);
});
