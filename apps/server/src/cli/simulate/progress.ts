/**
 * The live progress line and the final summary. On a terminal the line is
 * redrawn in place; in a log it is printed every few seconds instead.
 */
import type { SimulationResult, SimulationSnapshot } from './simulation.js';

export interface TextOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

const TTY_REDRAW_MS = 250;
const LOG_LINE_MS = 5_000;
/** The rate on a terminal is averaged over this much time, so it reads steadily. */
const TTY_RATE_WINDOW_MS = 2_000;
const CLEAR_LINE = '\r\x1b[2K';

export class ProgressReporter {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private samples: { atMs: number; acked: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lineShown = false;

  constructor(
    private readonly out: TextOutput,
    private readonly snapshot: () => SimulationSnapshot,
  ) {
    this.tty = !!out.isTTY;
    this.intervalMs = this.tty ? TTY_REDRAW_MS : LOG_LINE_MS;
  }

  start(): void {
    this.timer ??= setInterval(() => this.render(), this.intervalMs);
  }

  /** Prints a line of its own without garbling the progress line. */
  note(message: string): void {
    if (this.tty && this.lineShown) this.out.write(CLEAR_LINE);
    this.out.write(`${message}\n`);
    if (this.tty && this.lineShown) this.render();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty && this.lineShown) {
      this.render();
      this.out.write('\n');
    }
    this.lineShown = false;
  }

  private render(): void {
    const s = this.snapshot();
    // A log needs no lines while acks drain: the summary follows at once.
    if (s.stopping && !this.tty) return;
    const line = formatProgress(s, this.ackRate(s));
    this.out.write(this.tty ? `${CLEAR_LINE}${line}` : `${line}\n`);
    this.lineShown = true;
  }

  /** Acks per second over the recent window (since the previous line, when logging). */
  private ackRate(s: SimulationSnapshot): number {
    const window = this.tty ? TTY_RATE_WINDOW_MS : this.intervalMs;
    this.samples.push({ atMs: s.elapsedMs, acked: s.acked });
    while (this.samples.length > 2 && s.elapsedMs - this.samples[1]!.atMs >= window) this.samples.shift();
    const first = this.samples.length > 1 ? this.samples[0]! : { atMs: 0, acked: 0 };
    const dt = s.elapsedMs - first.atMs;
    return dt > 0 ? ((s.acked - first.acked) * 1000) / dt : 0;
  }
}

export function formatProgress(s: SimulationSnapshot, ackRate: number): string {
  const parts = [
    `connected ${count(s.connected)}/${count(s.devices)}`,
    `sent ${count(s.sent)}`,
    `acked ${count(s.acked)}`,
    `errors ${count(s.connectErrors + s.publishErrors)}`,
    `skipped ${count(s.skippedAwaitingAck + s.skippedLate)}`,
    `${count(Math.round(ackRate))} acked/s`,
    clock(s.elapsedMs),
  ];
  if (s.files.uploaded || s.files.failed) parts.push(`files ${count(s.files.uploaded)} uploaded${s.files.failed ? `/${count(s.files.failed)} failed` : ''}`);
  if (s.ota.jobs) parts.push(`ota ${count(s.ota.installed)} installed/${count(s.ota.failed)} failed/${count(s.ota.hung)} hung of ${count(s.ota.jobs)} jobs`);
  if (s.stopping) parts.push(`stopping, ${count(s.inFlight)} awaiting ack`);
  return parts.join('  ');
}

export function formatSummary(r: SimulationResult, qos: 0 | 1): string {
  const seconds = r.elapsedMs / 1000;
  const average = seconds > 0 ? r.acked / seconds : 0;
  let rate = `${fixed(average)} acked msg/s on average`;
  if (r.allConnectedAtMs !== null && r.elapsedMs - r.allConnectedAtMs >= 1000) {
    const steady = ((r.acked - r.ackedWhenAllConnected) * 1000) / (r.elapsedMs - r.allConnectedAtMs);
    rate += ` (${fixed(steady)} msg/s once all devices were connected)`;
  }
  const ackMeaning = qos === 1 ? 'PUBACK received: committed by Tether' : 'QoS 0: written to the socket, not confirmed';
  const lines = [
    `Simulation ended after ${fixed(seconds)} s (${r.stopReason}).`,
    `  devices   ${count(r.devices)}: ${count(r.everConnected)} connected at least once${r.refused ? `, ${count(r.refused)} refused by the broker` : ''}`,
    `  sent      ${count(r.sent)}`,
    `  acked     ${count(r.acked)} (${ackMeaning})`,
    `  errors    ${count(r.connectErrors + r.publishErrors)} (${count(r.connectErrors)} connect, ${count(r.publishErrors)} publish; ${count(r.disconnects)} dropped connections)`,
    `  skipped   ${count(r.skippedAwaitingAck)} turns waiting for an ack, ${count(r.skippedLate)} with the simulator behind schedule`,
    `  unacked   ${count(r.inFlight)} still in flight when the devices disconnected`,
    `  rate      ${rate}`,
  ];
  if (r.files.uploaded || r.files.failed || r.files.skipped)
    lines.push(`  files     ${count(r.files.uploaded)} clips uploaded, ${count(r.files.failed)} failed, ${count(r.files.skipped)} skipped (too many waiting)`);
  if (r.ota.jobs)
    lines.push(`  ota       ${count(r.ota.jobs)} firmware jobs: ${count(r.ota.installed)} installed, ${count(r.ota.failed)} failed, ${count(r.ota.hung)} hung`);
  return `${lines.join('\n')}\n`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function fixed(n: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

function clock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
