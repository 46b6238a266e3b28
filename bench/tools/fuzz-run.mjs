#!/usr/bin/env node
/**
 * The recorded fuzz run of issue 20: apps/server/test/fuzz.test.ts (MQTT payloads on every
 * device topic, ThingsBoard topics, raw malformed MQTT packets, HTTP requests on every
 * operation, a steady device publishing valid numbered telemetry throughout) with a long
 * budget, on PGlite and on PostgreSQL, until the inputs sent reach --target. Writes
 * bench/results/fuzz-<date>.md and .json with the counts, the answers seen and the test
 * results (0 5xx, health after every part, every acknowledged message of the steady
 * device stored). A hang fails the run by its vitest timeout; a crash fails it too.
 *
 *   node bench/tools/fuzz-run.mjs [--budget-ms 60000] [--target 100000] [--db pglite,postgres]
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const budgetMs = Number(arg('budget-ms', '60000'));
const target = Number(arg('target', '100000'));
const dbs = arg('db', 'pglite,postgres').split(',');
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432';

function runFuzz(db) {
  const env = { ...process.env, TETHER_FUZZ_BUDGET_MS: String(budgetMs), TETHER_TEST_REPORT_DIR: '' };
  let dbName = null;
  if (db === 'postgres') {
    dbName = `tether_fuzz_${Date.now()}`;
    execFileSync('psql', [`${baseUrl}/postgres`, '-qc', `CREATE DATABASE ${dbName}`]);
    env.DATABASE_URL = `${baseUrl}/${dbName}`;
  } else {
    delete env.DATABASE_URL;
  }
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', 'apps/server/test/fuzz.test.ts', '--reporter', 'verbose'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (dbName) execFileSync('psql', [`${baseUrl}/postgres`, '-qc', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`]);
      // eslint-disable-next-line no-control-regex
      const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
      const lines = plain.split('\n').filter((l) => l.startsWith('fuzz: '));
      const num = (re) => Number(re.exec(lines.join('\n'))?.[1] ?? 0);
      const json = (re) => JSON.parse(re.exec(lines.join('\n'))?.[1] ?? '{}');
      const inputs = {
        devicePayloads: num(/fuzz: (\d+) device-topic publishes/),
        thingsboardTopics: num(/fuzz: (\d+) publishes on ThingsBoard/),
        rawMqttConnections: num(/fuzz: (\d+) malformed MQTT connections/),
        httpRequests: num(/fuzz: (\d+) HTTP requests/),
      };
      const httpStatuses = json(/HTTP requests .* statuses (\{.*\})/);
      const failed = Number(/Tests\s+(\d+) failed/.exec(plain)?.[1] ?? 0);
      resolve({
        db,
        exitCode: code,
        seconds: Math.round((Date.now() - started) / 1000),
        inputs,
        total: Object.values(inputs).reduce((a, b) => a + b, 0),
        mqttOutcomes: json(/device-topic publishes .* outcomes (\{.*\})/),
        httpStatuses,
        http5xx: Object.entries(httpStatuses)
          .filter(([k]) => Number(k) >= 500)
          .reduce((a, [, v]) => a + v, 0),
        steady: /fuzz: steady device (\d+ acknowledged, \d+ stored)/.exec(plain)?.[1] ?? null,
        tests: { passed: Number(/Tests\s+.*?(\d+) passed/.exec(plain)?.[1] ?? 0), failed },
        failures: plain
          .split('\n')
          .filter((l) => /✗|×|FAIL|AssertionError|Error:/.test(l))
          .slice(0, 20),
      });
    });
  });
}

const cpus = os.cpus();
const machine = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
const results = [];
for (const db of dbs) {
  console.log(`fuzz-run: ${db}, ${budgetMs} ms per part…`);
  const r = await runFuzz(db);
  console.log(`fuzz-run: ${db}: ${r.total} inputs in ${r.seconds} s, tests ${r.tests.passed} passed / ${r.tests.failed} failed, exit ${r.exitCode}`);
  results.push(r);
}

const date = new Date().toISOString().replace(/:/g, '-').slice(0, 19);
const total = results.reduce((a, r) => a + r.total, 0);
const ok = results.every((r) => r.exitCode === 0 && r.tests.failed === 0 && r.http5xx === 0);
const md = [
  `# Fuzz run ${date} (commit ${commit})`,
  '',
  `Machine: ${machine}. \`node bench/tools/fuzz-run.mjs --budget-ms ${budgetMs}\`: \`apps/server/test/fuzz.test.ts\` with ${budgetMs} ms per random part (half for the ThingsBoard topics), through the real server.`,
  '',
  `**${total.toLocaleString('en')} inputs in all** (target ${target.toLocaleString('en')}): ${ok ? 'every check passed: no 5xx, no crash, no hang, the server healthy after every part, and every acknowledged message of the steady device stored.' : 'NOT every check passed: see below.'}`,
  '',
  '| database | device-topic payloads | ThingsBoard / foreign topics | raw MQTT connections | HTTP requests | total | HTTP 5xx | steady device | tests | exit |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.db} | ${r.inputs.devicePayloads} | ${r.inputs.thingsboardTopics} | ${r.inputs.rawMqttConnections} | ${r.inputs.httpRequests} | ${r.total} | ${r.http5xx} | ${r.steady ?? 'n/a'} | ${r.tests.passed} passed, ${r.tests.failed} failed | ${r.exitCode} |`,
  ),
  '',
  ...results.flatMap((r) => [
    `## ${r.db}`,
    '',
    `- MQTT answers to device-topic payloads (PUBACK reason code, or \`closed\`/\`timeout\`): \`${JSON.stringify(r.mqttOutcomes)}\``,
    `- HTTP statuses: \`${JSON.stringify(r.httpStatuses)}\``,
    `- ${r.seconds} s`,
    ...(r.failures.length ? ['- failures:', '```', ...r.failures, '```'] : []),
    '',
  ]),
].join('\n');
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, `bench/results/fuzz-${date}.md`), md);
fs.writeFileSync(path.join(ROOT, `bench/results/fuzz-${date}.json`), JSON.stringify({ date, commit, machine, budgetMs, target, total, ok, results }, null, 2));
console.log(md);
console.log(`\n${total} inputs, ${ok ? 'all checks passed' : 'FAILED'}: bench/results/fuzz-${date}.md`);
process.exit(ok && total >= target ? 0 : 1);
