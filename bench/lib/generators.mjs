/**
 * Runs load generator child processes (bench/gen/*.mjs) and merges what they
 * report. Each child is a separate Node process, so generator CPU is measured
 * apart from the server's.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { Histogram } from './stats.mjs';

const GEN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../gen');

/**
 * Niceness of the load generators in throughput scenarios (1, 2, 4, 8, 10). On this machine they
 * share 2 cores with the server and the database; at a lower priority they yield the cores to
 * them, as devices on other machines would, and their CPU is still measured and reported. A
 * flood generator otherwise took 0.16–0.19 cores to scenario 1's 0.11 and the acked rate under
 * the flood swung with it. Latency scenarios keep the default: a generator descheduled between
 * timestamping a message and writing it would add that wait to the latency measured.
 */
export const THROUGHPUT_GENERATOR_NICENESS = 10;

export function forkChild(name, { niceness = 0 } = {}) {
  const child = fork(path.join(GEN, name), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (niceness) os.setPriority(child.pid, niceness);
  const exited = new Promise((r) => child.once('exit', r));
  const waitFor = (type, timeoutMs = 600_000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const on = (m) => {
        if (m.type === type) {
          clearTimeout(t);
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`${name} exited (${code}) while waiting for "${type}"`));
      });
    });
  return { child, pid: child.pid, waitFor, exited, kill: () => child.kill('SIGKILL') };
}

/** Splits devices across `processes` publisher children, connects them all, then starts them together. */
export async function runPublishers({ devices, processes, config, cpu, onTick, niceness = 0 }) {
  const shares = Array.from({ length: processes }, (_, p) => devices.filter((_, i) => i % processes === p));
  const kids = shares.map(() => forkChild('publisher.mjs', { niceness }));
  try {
    for (const k of kids) cpu?.add('generators', k.pid);
    const perProcessRate = config.rate ? config.rate / processes : undefined;
    kids.forEach((k, p) => k.child.send({ type: 'start', config: { ...config, rate: perProcessRate, processIndex: p }, devices: shares[p] }));
    const connected = await Promise.all(kids.map((k) => k.waitFor('connected')));
    const conn = { connected: 0, failed: 0, ms: 0, errors: {} };
    for (const c of connected) {
      conn.connected += c.connected;
      conn.failed += c.failed;
      conn.ms = Math.max(conn.ms, c.ms);
      for (const [e, n] of Object.entries(c.errors)) conn.errors[e] = (conn.errors[e] ?? 0) + n;
    }
    const ticks = kids.map(() => ({ acked: 0, sent: 0 }));
    kids.forEach((k, p) =>
      k.child.on('message', (m) => {
        if (m.type === 'tick') {
          ticks[p] = m;
          cpu?.sample();
          onTick?.(
            ticks.reduce((a, t) => a + t.acked, 0),
            ticks.reduce((a, t) => a + t.sent, 0),
          );
        }
      }),
    );
    cpu?.start();
    for (const k of kids) k.child.send({ type: 'go' });
    const done = await Promise.all(kids.map((k) => k.waitFor('done', config.durationMs + (config.drainMs ?? 30_000) + 120_000)));
    cpu?.sample();
    const totals = {};
    for (const d of done) for (const [k, v] of Object.entries(d.totals)) totals[k] = (totals[k] ?? 0) + v;
    const hist = new Histogram();
    for (const d of done) hist.merge(d.ackLatency);
    const perSecond = [];
    for (const d of done) d.perSecond.forEach((v, i) => (perSecond[i] = (perSecond[i] ?? 0) + v));
    const perDevice = new Map();
    for (const d of done) for (const [id, n] of d.perDevice) perDevice.set(id, n);
    const ackedSeqRanges = new Map();
    for (const d of done) for (const [id, r] of d.ackedSeqRanges ?? []) ackedSeqRanges.set(id, r);
    const hotSent = done.flatMap((d) => d.hotSent ?? []);
    return {
      connect: conn,
      hotSent,
      totals,
      perSecond,
      ackLatency: hist.summary(),
      perDevice,
      ackedSeqRanges,
      generatorCpuSeconds: done.reduce((a, d) => a + d.cpuSeconds, 0),
    };
  } finally {
    for (const k of kids) if (k.child.connected) k.child.send({ type: 'exit' });
    await Promise.all(kids.map((k) => Promise.race([k.exited, new Promise((r) => setTimeout(r, 5000))])));
    for (const k of kids) if (k.child.exitCode === null) k.kill();
  }
}

/** Lets a child exit on its own (after the parent read its CPU), or kills it after 5 s. */
export async function releaseChild(k) {
  if (k.child.connected) k.child.send({ type: 'exit' });
  await Promise.race([k.exited, new Promise((r) => setTimeout(r, 5000))]);
  if (k.child.exitCode === null && k.child.signalCode === null) k.kill();
}
