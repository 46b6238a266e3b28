/**
 * Scenario 16, early warning of failing heartbeat sensors (issue 16). Offline,
 * no server: heartbeat gaps are generated with the simulator's own sensor model
 * (apps/server/dist/cli/simulate/device-models.js, seeded random) for `devices`
 * sensors over `hours` of simulated time: `degradeShare` degrade (gaps growing
 * for 2–12 h from a random onset, then death: no heartbeat ever again),
 * `noisyShare` are noisy but healthy, the rest healthy. Usual intervals are
 * 60, 120 or 300 s, a third each. Time is replayed in 10-minute steps; at each
 * step every sensor's last `window` gaps go through assessDevice (with
 * expectedIntervalS null: each sensor's baseline is its own history; once more
 * on the report seed with each sensor's usual interval given, as when its
 * configuration says how often it reports).
 *
 * - true positive: a degrading sensor flagged after its onset and no later
 *   than its last heartbeat; lead time = last heartbeat − first such flag;
 * - false positive: a healthy or noisy sensor flagged at any step, or a
 *   degrading one flagged before its onset;
 * - scan time: one pass of assessDevice over the whole fleet (building each
 *   series from in-memory arrays, as a caller holding the gaps would).
 *
 * The detector's defaults were tuned on `tuneSeed`; the figures that count are
 * those of `reportSeed`, data the tuning never saw. Both are reported.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../lib/server.mjs';

const HOUR = 3_600_000;
const STEP_MS = 10 * 60_000;
const BASES_S = [60, 120, 300];

async function load() {
  const dist = (p) => import(pathToFileURL(path.join(ROOT, 'apps/server/dist', p)).href);
  const models = await dist('cli/simulate/device-models.js');
  const detector = await dist('modules/health/early-warning.js');
  return { ...models, ...detector };
}

/** The same seeded generator as the simulator's model tests (mulberry32). */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every sensor's heartbeat times (ms of simulated time), its behaviour, onset and death. */
function generateFleet(m, { devices, hours, degradeShare, noisyShare, seed }) {
  const random = seeded(seed);
  const horizonMs = hours * HOUR;
  const fleet = [];
  for (let i = 0; i < devices; i++) {
    const u = random();
    const behaviour = u < degradeShare ? 'degrading' : u < degradeShare + noisyShare ? 'noisy' : 'healthy';
    const health = m.drawHeartbeatHealth(behaviour, random);
    if (behaviour === 'degrading') {
      // At least 6 h of normal life first (a baseline to compare with), and death within the horizon.
      health.onsetMs = 6 * HOUR + random() * Math.max(0, horizonMs - 6 * HOUR - health.durationMs);
    }
    const sensor = m.createHeartbeatSensor(random, 0, health);
    const baseMs = BASES_S[Math.floor(random() * BASES_S.length)] * 1000;
    const times = [];
    let t = random() * baseMs;
    let deathMs = null;
    while (t <= horizonMs) {
      times.push(t);
      const gap = sensor.nextGap(t);
      if (gap === null) {
        deathMs = t;
        break;
      }
      t += gap * baseMs;
    }
    fleet.push({
      id: `d${i}`,
      baseS: baseMs / 1000,
      behaviour,
      onsetMs: behaviour === 'degrading' ? health.onsetMs : null,
      deathMs,
      times: Float64Array.from(times),
    });
  }
  return fleet;
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

/** Replays the fleet's time in steps, assessing every sensor at each. */
function evaluate(m, fleet, { hours, window, options, knownInterval = false }) {
  const gapsS = [];
  const atMs = [];
  const next = new Int32Array(fleet.length); // per sensor: index of its first heartbeat after the current step
  const firstFlag = new Array(fleet.length).fill(null);
  const falseFlag = new Uint8Array(fleet.length);
  const scanMs = [];
  let assessed = 0;
  for (let now = STEP_MS; now <= hours * HOUR; now += STEP_MS) {
    const t0 = performance.now();
    for (let d = 0; d < fleet.length; d++) {
      const dev = fleet[d];
      const times = dev.times;
      let k = next[d];
      while (k < times.length && times[k] <= now) k++;
      next[d] = k;
      const first = Math.max(1, k - window);
      if (k - first < 1) continue;
      gapsS.length = atMs.length = k - first;
      for (let j = first; j < k; j++) {
        gapsS[j - first] = (times[j] - times[j - 1]) / 1000;
        atMs[j - first] = times[j];
      }
      assessed += 1;
      const w = m.assessDevice({ deviceId: dev.id, gapsS, atMs, nowMs: now, expectedIntervalS: knownInterval ? dev.baseS : null }, options);
      if (!w) continue;
      if (dev.behaviour !== 'degrading' || now < dev.onsetMs) falseFlag[d] = 1;
      else if (firstFlag[d] === null && now <= dev.deathMs) firstFlag[d] = { at: now, score: w.score, reasons: w.reasons };
    }
    scanMs.push(performance.now() - t0);
  }
  const degrading = fleet.filter((d) => d.behaviour === 'degrading');
  const tp = fleet.reduce((n, d, i) => n + (firstFlag[i] && !falseFlag[i] ? 1 : 0), 0);
  const fp = falseFlag.reduce((n, f) => n + f, 0);
  const byKind = (kind) => fleet.reduce((n, d, i) => n + (d.behaviour === kind && falseFlag[i] ? 1 : 0), 0);
  const leads = fleet.flatMap((d, i) => (firstFlag[i] && !falseFlag[i] ? [(d.deathMs - firstFlag[i].at) / HOUR] : [])).sort((a, b) => a - b);
  const missedOnes = fleet.filter((d, i) => d.behaviour === 'degrading' && !(firstFlag[i] && !falseFlag[i]));
  const missedByIntervalS = Object.fromEntries(BASES_S.map((b) => [b, missedOnes.filter((d) => d.baseS === b).length]));
  const missedDeclines = missedOnes.map((d) => (d.deathMs - d.onsetMs) / HOUR).sort((a, b) => a - b);
  const declines = degrading.map((d) => (d.deathMs - d.onsetMs) / HOUR).sort((a, b) => a - b);
  const scans = [...scanMs].sort((a, b) => a - b);
  const example = fleet.findIndex((d, i) => firstFlag[i] && !falseFlag[i]);
  const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);
  const r4 = (x) => (x === null ? null : Math.round(x * 10_000) / 10_000);
  return {
    devices: fleet.length,
    healthy: fleet.filter((d) => d.behaviour === 'healthy').length,
    noisy: fleet.filter((d) => d.behaviour === 'noisy').length,
    degrading: degrading.length,
    truePositives: tp,
    falsePositives: fp,
    falsePositivesHealthy: byKind('healthy'),
    falsePositivesNoisy: byKind('noisy'),
    falsePositivesDegradingBeforeOnset: byKind('degrading'),
    missed: degrading.length - tp,
    precision: r4(tp + fp ? tp / (tp + fp) : null),
    recall: r4(degrading.length ? tp / degrading.length : null),
    leadHoursP10: r2(quantile(leads, 0.1)),
    leadHoursMedian: r2(quantile(leads, 0.5)),
    leadHoursP90: r2(quantile(leads, 0.9)),
    declineHoursMedian: r2(quantile(declines, 0.5)),
    missedByIntervalS,
    missedDeclineHoursMedian: r2(quantile(missedDeclines, 0.5)),
    steps: scanMs.length,
    assessments: assessed,
    fleetScanMsMedian: r2(quantile(scans, 0.5)),
    fleetScanMsMax: r2(scans[scans.length - 1]),
    example:
      example >= 0
        ? { behaviour: fleet[example].behaviour, leadHours: r2((fleet[example].deathMs - firstFlag[example].at) / HOUR), ...firstFlag[example] }
        : null,
  };
}

/** One full-fleet scan with every sensor's window full (`window` gaps each), timed alone. */
function fullScan(m, fleet, window, options) {
  const series = fleet
    .filter((d) => d.times.length > window)
    .map((d) => {
      const end = d.times.length;
      const atMs = Array.from(d.times.subarray(end - window, end));
      const gapsS = atMs.map((t, j) => (t - d.times[end - window - 1 + j]) / 1000);
      return { deviceId: d.id, gapsS, atMs, nowMs: atMs[atMs.length - 1] + 1000, expectedIntervalS: null };
    });
  const runs = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (const s of series) m.assessDevice(s, options);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return { devices: series.length, gapsEach: window, ms: Math.round(runs[3] * 10) / 10, msMin: Math.round(runs[0] * 10) / 10 };
}

export async function earlyWarning(ctx = {}) {
  const cfg = {
    devices: 10_000,
    hours: 48,
    degradeShare: 0.2,
    noisyShare: 0.2,
    window: 150,
    tuneSeed: 1,
    reportSeed: 2,
    options: {},
    ...(ctx.earlyWarning ?? {}),
  };
  const m = await load();
  console.log(
    `16 early warning: ${cfg.devices} sensors × ${cfg.hours} h simulated, ${cfg.degradeShare * 100}% degrading, ${cfg.noisyShare * 100}% noisy; window ${cfg.window} gaps`,
  );
  const run = (seed) => {
    const t0 = performance.now();
    const fleet = generateFleet(m, { ...cfg, seed });
    const generateS = Math.round(performance.now() - t0) / 1000;
    const result = { seed, generateS, ...evaluate(m, fleet, cfg), fullScan: fullScan(m, fleet, cfg.window, cfg.options) };
    console.log(
      `  seed ${seed}: precision ${result.precision}, recall ${result.recall} (${result.truePositives}/${result.degrading}; false positives ${result.falsePositives}: ` +
        `${result.falsePositivesHealthy} healthy, ${result.falsePositivesNoisy} noisy, ${result.falsePositivesDegradingBeforeOnset} before onset); ` +
        `lead time p10/median/p90 ${result.leadHoursP10}/${result.leadHoursMedian}/${result.leadHoursP90} h (median decline ${result.declineHoursMedian} h); ` +
        `full scan ${result.fullScan.devices} × ${cfg.window} gaps: ${result.fullScan.ms} ms`,
    );
    return result;
  };
  const tune = cfg.tuneSeed === null ? null : run(cfg.tuneSeed);
  const report = run(cfg.reportSeed);
  const known = evaluate(m, generateFleet(m, { ...cfg, seed: cfg.reportSeed }), { ...cfg, knownInterval: true });
  delete known.example;
  console.log(
    `  seed ${cfg.reportSeed}, usual interval given: precision ${known.precision}, recall ${known.recall} (false positives ${known.falsePositives}); lead time p10/median/p90 ${known.leadHoursP10}/${known.leadHoursMedian}/${known.leadHoursP90} h`,
  );
  return {
    figures: {
      ...report,
      tunedOn: tune,
      withExpectedInterval: known,
      window: cfg.window,
      hours: cfg.hours,
      degradeShare: cfg.degradeShare,
      noisyShare: cfg.noisyShare,
      defaults: m.EARLY_WARNING_DEFAULTS,
    },
  };
}
