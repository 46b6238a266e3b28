/**
 * CPU and memory of processes, read from /proc: the benchmarks report CPU per
 * side (server, database, load generators) because on a 2-core machine they
 * compete, and a total alone would hide who used what.
 */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

let ticks = 100;
try {
  ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}

/** Seconds of CPU (user + system) a process has used, or null once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks;
  } catch {
    return null;
  }
}

/**
 * Seconds a process's threads have spent runnable but waiting for a core (the scheduler's
 * run-queue delay, /proc/<pid>/task/<tid>/schedstat), or null once it is gone. On a busy
 * 2-core machine this, not the code, is where latency tails come from.
 */
export function waitSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // the thread exited
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** Resident set size and its peak (VmHWM), in bytes. */
export function memory(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

export function openFds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Whole-machine CPU seconds (busy and total) across all cores, from /proc/stat. */
export function machineCpu() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticks, total: total / ticks };
}

/**
 * Tracks CPU per named group of pids between start() and stop(). Pids can be
 * added while running (pool connections, late children); a pid that exits
 * keeps the last value read, so sample() now and then while it runs.
 */
export class CpuMeter {
  constructor() {
    this.groups = new Map();
    this.machine0 = null;
    this.result = null;
  }

  add(group, pid) {
    if (!pid) return;
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    if (g.has(pid)) return;
    const now = cpuSeconds(pid);
    const wait = waitSeconds(pid) ?? 0;
    if (now !== null) g.set(pid, { start: now, last: now, waitStart: wait, waitLast: wait });
  }

  start() {
    this.machine0 = machineCpu();
    this.t0 = performance.now();
    for (const g of this.groups.values()) {
      for (const [pid, e] of g) {
        const now = cpuSeconds(pid);
        if (now !== null) e.start = e.last = now;
        const wait = waitSeconds(pid);
        if (wait !== null) e.waitStart = e.waitLast = wait;
      }
    }
  }

  sample() {
    for (const g of this.groups.values()) {
      for (const [pid, e] of g) {
        const now = cpuSeconds(pid);
        if (now !== null) e.last = now;
        const wait = waitSeconds(pid);
        if (wait !== null) e.waitLast = wait;
      }
    }
  }

  /** CPU per group in seconds and as cores (seconds per wall second), plus the machine's busy share. */
  stop() {
    this.sample();
    const wall = (performance.now() - this.t0) / 1000;
    const m = machineCpu();
    const out = { wallSeconds: round(wall, 1), groups: {} };
    let attributed = 0;
    for (const [name, g] of this.groups) {
      let s = 0;
      let w = 0;
      for (const e of g.values()) {
        s += e.last - e.start;
        w += e.waitLast - e.waitStart;
      }
      attributed += s;
      // waitPerCpuSecond: time spent waiting for a core per second of CPU used.
      out.groups[name] = { cpuSeconds: round(s, 1), cores: round(s / wall, 2), waitSeconds: round(w, 1), waitPerCpuSecond: s > 0 ? round(w / s, 2) : null };
    }
    const busy = m.busy - this.machine0.busy;
    out.machine = { cores: os.cpus().length, busyCores: round(busy / wall, 2), otherCores: round(Math.max(0, busy - attributed) / wall, 2) };
    this.result = out;
    return out;
  }
}

export const round = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

/**
 * I/O counters of the block device holding `dir` (/proc/diskstats, Linux 4.18+ fields), or
 * null where they cannot be read. A commit waits for a flush of this device, so a flush
 * or a discard that takes long shows here as a latency spike.
 */
export function diskStats(dir) {
  try {
    const dev = fs.statSync(dir).dev;
    const major = Number((BigInt(dev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & 0xfff00n));
    const line = fs
      .readFileSync('/proc/diskstats', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => Number(f[0]) === major && Number(f[1]) === minor);
    if (!line) return null;
    const n = line.slice(3).map(Number);
    return {
      device: line[2],
      writes: n[4],
      writeMs: n[7],
      inFlight: n[8],
      discards: n[11] ?? 0,
      discardMs: n[14] ?? 0,
      flushes: n[15] ?? 0,
      flushMs: n[16] ?? 0,
    };
  } catch {
    return null;
  }
}

/** CPU seconds of every process on the machine now, with a short name (its command line). */
export function processTable() {
  const out = new Map();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cpu = cpuSeconds(pid);
    if (cpu === null) continue;
    let name = '';
    try {
      name = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {}
    if (!name) {
      try {
        name = `[${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]`;
      } catch {}
    }
    out.set(Number(pid), { cpu, name: name.length > 120 ? `${name.slice(0, 117)}…` : name });
  }
  return out;
}

/**
 * What else ran between two process tables: the busiest processes that are not
 * `ours` (pids), as cores over `seconds`. Processes that started and ended in
 * between are not seen; the CpuMeter's "other processes" has their total.
 */
export function busiestOthers(before, after, ours, seconds, top = 6) {
  const rows = [];
  for (const [pid, a] of after) {
    if (ours.has(pid)) continue;
    const used = a.cpu - (before.get(pid)?.cpu ?? 0);
    if (used > 0.05 * seconds) rows.push({ pid, cores: round(used / seconds, 2), name: a.name });
  }
  return rows.sort((x, y) => y.cores - x.cores).slice(0, top);
}
