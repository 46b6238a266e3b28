/**
 * Runs a fleet of virtual devices over MQTT: connects them at a bounded rate,
 * sends at an even total rate, and counts what Tether acknowledges.
 *
 * One timer drives everything. Sending is a single round robin at the total
 * rate (turn k belongs to device k mod N), which spreads every device's
 * messages evenly without a timer per device. A device whose previous publish
 * is still unacknowledged skips its turn instead of queueing, so the figures
 * show what the server commits, not what the client buffers.
 */
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { OtaJobMessage } from '@tether/contracts';
import { DeviceClient, HttpDeviceClient, type FirmwareReport } from '@tether/device-sdk';
import {
  createDeviceModel,
  drawHeartbeatHealth,
  type DeviceModel,
  type HealthBehaviour,
  type HeartbeatSensor,
  type Random,
  type Uplink,
} from './device-models.js';
import type { FleetDevice } from './fleet-file.js';
import type { HealthBehaviourShares, OtaBehaviour } from './options.js';

export interface SimulationSettings {
  mqttUrl: string;
  /** Messages per second across the whole fleet. */
  rate: number;
  qos: 0 | 1;
  /** New MQTT connections per second. */
  connectRate: number;
  /** Unacknowledged publishes a device may have before its turn is skipped. */
  maxInFlight: number;
  /** Stop by itself after this long; null runs until stop(). */
  durationMs: number | null;
  /** How long stop() waits for outstanding acks. */
  drainMs?: number;
  tickMs?: number;
  random?: Random;
  /** The version devices report until an update (a device's own firmwareVersion wins); default 1.0.0. */
  firmwareVersion?: string;
  ota?: OtaBehaviour;
  /** Base of relative firmware links (a server without TETHER_PUBLIC_URL), and where files are uploaded. */
  httpUrl?: string;
  /** Upload the dashcam clips a truck's alert names (default true when httpUrl is set). */
  videos?: boolean;
  /** Heartbeat sensors that degrade and die, or are noisy (default: all healthy). */
  health?: HealthBehaviourShares;
}

export interface SimulationEvents {
  /** Something worth a line of its own: the first occurrence of each kind of error. */
  notice?(message: string): void;
  /** A device installed a firmware update: its new version is in `device.firmwareVersion`. */
  firmwareChanged?(device: FleetDevice): void;
}

/** What the devices did with OTA jobs. */
export interface OtaCounts {
  jobs: number;
  installed: number;
  failed: number;
  hung: number;
}

export interface SimulationSnapshot {
  devices: number;
  connected: number;
  /** Devices that connected at least once. */
  everConnected: number;
  /** Devices whose credentials the broker refused; they are not retried. */
  refused: number;
  sent: number;
  acked: number;
  connectErrors: number;
  publishErrors: number;
  /** Turns skipped because the device's previous message was still unacknowledged. */
  skippedAwaitingAck: number;
  /** Turns dropped because the simulator itself fell behind schedule. */
  skippedLate: number;
  inFlight: number;
  disconnects: number;
  elapsedMs: number;
  /** Sending has ended; outstanding acks are being awaited. */
  stopping: boolean;
  /** When every device had connected at least once, and the acks counted by then. */
  allConnectedAtMs: number | null;
  ackedWhenAllConnected: number;
  ota: OtaCounts;
  /** Files named by alerts: uploaded (stored), failed, and skipped because too many were waiting. */
  files: FileCounts;
}

export interface FileCounts {
  uploaded: number;
  failed: number;
  skipped: number;
}

export interface SimulationResult extends SimulationSnapshot {
  stopReason: string;
}

interface VirtualDevice {
  spec: FleetDevice;
  model: DeviceModel;
  client: DeviceClient | null;
  inFlight: number;
  attempts: number;
  retryAtMs: number;
  /** From the device's configuration (`reportIntervalMs`): it publishes at most this often. */
  reportIntervalMs: number | null;
  nextReportMs: number;
  /** Set by a `reset` command: the device reboots and reports uptime 0 when back. */
  rebooting: boolean;
  commandsAnswered: number;
  /** The firmware it runs, reported as fw_version on every connect. */
  version: string;
  /** What it does with an OTA job. */
  otaRole: 'install' | 'fail' | 'hang';
  /** A noisy or degrading heartbeat sensor keeps its own schedule (null: it sends at every turn). */
  sensor: HeartbeatSensor | null;
  /** It lets its turns pass until then (Date.now() ms); Infinity once it has died. */
  silentUntilMs: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 5_000;
const MAX_RETRY_DELAY_MS = 30_000;
/** Schedule slack before turns count as late: timers fire a few ms late even when all is well. */
const LATE_AFTER_MS = 250;
const MAX_DISTINCT_NOTICES = 10;
/** Clip uploads in progress at once, and waiting at most (beyond that a clip is skipped). */
const UPLOADS_AT_ONCE = 4;
const MAX_QUEUED_UPLOADS = 200;
/** CONNACK return codes that retrying cannot fix (MQTT-3.2.2.3): protocol, client id, credentials, authorization. */
const PERMANENT_CONNACK_CODES = new Set([1, 2, 4, 5]);

export class Simulation {
  private readonly devices: VirtualDevice[];
  private readonly connectQueue: VirtualDevice[];
  private readonly retryQueue: VirtualDevice[] = [];
  private readonly pendingConnects = new Set<Promise<void>>();
  private readonly noticed = new Set<string>();
  private readonly tickMs: number;
  private readonly random: Random;
  /** Model time 0 of the sensors' health (Date.now() ms). */
  private readonly createdAtMs: number;

  private readonly counts = { sent: 0, acked: 0, connectErrors: 0, publishErrors: 0, skippedAwaitingAck: 0, skippedLate: 0, disconnects: 0 };
  private readonly ota: OtaCounts = { jobs: 0, installed: 0, failed: 0, hung: 0 };
  private readonly files: FileCounts = { uploaded: 0, failed: 0, skipped: 0 };
  /** Clip uploads waiting for their turn: a few at a time, so video never starves the telemetry. */
  private readonly uploadQueue: (() => Promise<void>)[] = [];
  private uploading = 0;
  private inFlight = 0;
  private everConnected = 0;
  private refused = 0;
  private allConnectedAtMs: number | null = null;
  private ackedWhenAllConnected = 0;

  private startedAtMs: number | null = null;
  private stoppedAtMs: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private turns = 0;
  private connectBudget = 1;
  private lastRefillMs = 0;
  private stopping: Promise<SimulationResult> | null = null;
  private resolveDone!: (result: SimulationResult) => void;
  /** Settles once the simulation has stopped, whatever stopped it. */
  readonly done = new Promise<SimulationResult>((resolve) => (this.resolveDone = resolve));

  constructor(
    fleet: FleetDevice[],
    private readonly settings: SimulationSettings,
    private readonly events: SimulationEvents = {},
  ) {
    if (fleet.length === 0) throw new Error('no devices to simulate');
    this.tickMs = settings.tickMs ?? 10;
    this.random = settings.random ?? Math.random;
    const now = (this.createdAtMs = Date.now());
    const behaviours = this.healthBehaviours(fleet);
    this.devices = fleet.map((spec, i) => ({
      spec,
      model: createDeviceModel(spec.kind, this.random, now, behaviours[i] ? drawHeartbeatHealth(behaviours[i], this.random) : undefined),
      client: null,
      inFlight: 0,
      attempts: 0,
      retryAtMs: 0,
      reportIntervalMs: null,
      nextReportMs: 0,
      rebooting: false,
      commandsAnswered: 0,
      version: spec.firmwareVersion ?? settings.firmwareVersion ?? '1.0.0',
      otaRole: 'install',
      sensor: null,
      silentUntilMs: 0,
    }));
    this.devices.forEach((d, i) => {
      if (behaviours[i] && behaviours[i] !== 'healthy') d.sensor = d.model as HeartbeatSensor;
    });
    // Exactly the asked shares fail and hang, spread at random over the fleet.
    const order = [...this.devices];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const failing = Math.round(order.length * (settings.ota?.failShare ?? 0));
    const hanging = Math.round(order.length * (settings.ota?.hangShare ?? 0));
    order.forEach((d, i) => (d.otaRole = i < failing ? 'fail' : i < failing + hanging ? 'hang' : 'install'));
    this.connectQueue = [...this.devices];
  }

  /** Which sensors degrade, so what Fleet Health flags can be checked against it. */
  private announceHealth(): void {
    const degrading = this.devices.filter((d) => d.sensor?.health.behaviour === 'degrading');
    const noisy = this.devices.filter((d) => d.sensor?.health.behaviour === 'noisy').length;
    if (degrading.length + noisy === 0) return;
    const names = degrading.slice(0, 20).map((d) => d.spec.name ?? d.spec.id);
    const more = degrading.length > names.length ? ` and ${degrading.length - names.length} more` : '';
    this.events.notice?.(
      `heartbeat sensors: ${degrading.length} degrading${degrading.length ? ` (${names.join(', ')}${more})` : ''}, ${noisy} noisy, the rest healthy`,
    );
  }

  /** The behaviour of each heartbeat device (by index): exactly the asked shares, spread at random. */
  private healthBehaviours(fleet: FleetDevice[]): (HealthBehaviour | undefined)[] {
    const behaviours: (HealthBehaviour | undefined)[] = [];
    const shares = this.settings.health;
    if (!shares || shares.degradeShare + shares.noisyShare === 0) return behaviours;
    const sensors = fleet.flatMap((d, i) => (d.kind === 'heartbeat' ? [i] : []));
    for (let i = sensors.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [sensors[i], sensors[j]] = [sensors[j]!, sensors[i]!];
    }
    const degrading = Math.round(sensors.length * shares.degradeShare);
    const noisy = Math.round(sensors.length * shares.noisyShare);
    sensors.forEach((d, k) => (behaviours[d] = k < degrading ? 'degrading' : k < degrading + noisy ? 'noisy' : 'healthy'));
    return behaviours;
  }

  start(): void {
    if (this.startedAtMs !== null) return;
    this.startedAtMs = this.lastRefillMs = performance.now();
    this.announceHealth();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.tick();
  }

  /** Stops sending, waits a little for outstanding acks, and disconnects every device. */
  stop(reason = 'stopped'): Promise<SimulationResult> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  snapshot(): SimulationSnapshot {
    const now = this.stoppedAtMs ?? performance.now();
    return {
      devices: this.devices.length,
      connected: this.devices.reduce((n, d) => n + (d.client?.connected ? 1 : 0), 0),
      everConnected: this.everConnected,
      refused: this.refused,
      ...this.counts,
      inFlight: this.inFlight,
      elapsedMs: this.startedAtMs === null ? 0 : now - this.startedAtMs,
      stopping: this.stopping !== null,
      allConnectedAtMs: this.allConnectedAtMs,
      ackedWhenAllConnected: this.ackedWhenAllConnected,
      ota: { ...this.ota },
      files: { ...this.files },
    };
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.startedAtMs!;
    if (this.settings.durationMs !== null && elapsed >= this.settings.durationMs) {
      void this.stop('duration reached');
      return;
    }
    if (this.refused === this.devices.length) {
      void this.stop('the broker refused every device');
      return;
    }
    this.startDueConnections(now);
    this.takeDueTurns(elapsed);
  }

  // ---- connecting ----

  /** A token bucket at the connect rate, so a thousand devices do not stampede the broker. */
  private startDueConnections(now: number): void {
    const burst = Math.max(1, (this.settings.connectRate * this.tickMs) / 1000);
    this.connectBudget = Math.min(burst, this.connectBudget + ((now - this.lastRefillMs) / 1000) * this.settings.connectRate);
    this.lastRefillMs = now;
    for (let i = this.retryQueue.length - 1; i >= 0; i--) {
      if (this.retryQueue[i]!.retryAtMs <= now) this.connectQueue.push(...this.retryQueue.splice(i, 1));
    }
    while (this.connectBudget >= 1 && this.connectQueue.length > 0) {
      this.connectBudget -= 1;
      this.connect(this.connectQueue.shift()!);
    }
  }

  private connect(device: VirtualDevice): void {
    device.attempts += 1;
    const attempt = DeviceClient.connect({
      url: this.settings.mqttUrl,
      deviceId: device.spec.id,
      token: device.spec.token,
      qos: this.settings.qos,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    }).then(
      (client) => this.onConnected(device, client),
      (err: unknown) => this.onConnectFailed(device, err),
    );
    this.pendingConnects.add(attempt);
    void attempt.then(() => this.pendingConnects.delete(attempt));
  }

  private onConnected(device: VirtualDevice, client: DeviceClient): void {
    if (this.stopping) {
      void client.close(true);
      return;
    }
    device.client = client;
    device.attempts = 0;
    // Simulated devices obey commands and apply their configuration (seed 003's reset).
    void client.onCommand((command) => this.handleCommand(device, command.name)).catch(() => {});
    void client
      .onConfig((config) => {
        const interval = config.reportIntervalMs;
        device.reportIntervalMs = typeof interval === 'number' && interval > 0 ? interval : null;
      })
      .catch(() => {});
    // The firmware it runs, and OTA jobs: a job for the version it now runs is confirmed by the SDK.
    this.track(device, 'attributes', client.reportAttributes({ fw_version: device.version }, this.settings.qos));
    void client
      .onFirmware((job, report) => this.takeFirmware(device, job, report), { currentVersion: () => device.version, httpUrl: this.settings.httpUrl })
      .catch(() => {});
    if (device.rebooting) {
      device.rebooting = false;
      void client.heartbeat({ uptime: 0 }, this.settings.qos).catch(() => {});
    }
    // After the first CONNACK the SDK reconnects by itself; count the drops so flapping shows.
    client.mqtt.on('offline', () => {
      if (!this.stopping) this.counts.disconnects += 1;
    });
    this.everConnected += 1;
    if (this.everConnected === this.devices.length) {
      this.allConnectedAtMs = performance.now() - this.startedAtMs!;
      this.ackedWhenAllConnected = this.counts.acked;
    }
  }

  private handleCommand(device: VirtualDevice, name: string): unknown {
    device.commandsAnswered += 1;
    if (name !== 'reset') return { ok: true, command: name };
    // Answer first, then drop off the air and come back, like a rebooting device.
    setTimeout(() => this.reboot(device), 200);
    return { rebooting: true };
  }

  private reboot(device: VirtualDevice): void {
    device.rebooting = true;
    device.model.reboot?.(Date.now());
    const client = device.client;
    device.client = null;
    void client?.close(true).finally(() => {
      if (!this.stopping) this.connectQueue.push(device);
    });
  }

  /**
   * An OTA job, as a device's firmware takes it: download (every byte through sha256, none
   * kept), install, reboot into the new version, which the SDK then confirms. A failing
   * device reports its install failed (with any version, or only the bad build's); a hanging
   * one stops answering after 10%.
   */
  private async takeFirmware(device: VirtualDevice, job: OtaJobMessage, report: FirmwareReport): Promise<void> {
    this.ota.jobs += 1;
    if (device.otaRole === 'hang') {
      this.ota.hung += 1;
      await report.progress(10);
      return;
    }
    const discard = new Writable({ write: (_chunk, _enc, done) => done() });
    await report.download(discard);
    const badBuild = this.settings.ota?.failVersions;
    const fails = device.otaRole === 'fail' && (!badBuild || badBuild.includes(job.version));
    if (fails) {
      await sleep((this.settings.ota?.installMs ?? 0) / 2);
      this.ota.failed += 1;
      throw new Error('simulated install failure: the new image did not verify after flashing');
    }
    await report.installing();
    await sleep(this.settings.ota?.installMs ?? 0);
    device.version = job.version;
    device.spec.firmwareVersion = job.version;
    this.ota.installed += 1;
    this.events.firmwareChanged?.(device.spec);
    this.reboot(device);
  }

  private onConnectFailed(device: VirtualDevice, err: unknown): void {
    this.counts.connectErrors += 1;
    if (this.stopping) return;
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'number' && PERMANENT_CONNACK_CODES.has(code)) {
      this.refused += 1;
      this.notice(`connect refused: ${errorText(err)}`, `device ${device.spec.id}: connect refused (${errorText(err)}); not retrying it`);
      return;
    }
    // Exponential backoff with jitter, so devices that failed together do not retry together.
    const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** (device.attempts - 1)) * (0.5 + this.random() / 2);
    device.retryAtMs = performance.now() + delay;
    this.retryQueue.push(device);
    this.notice(`connect failed: ${errorText(err)}`, `device ${device.spec.id}: connect failed (${errorText(err)}); retrying`);
  }

  // ---- sending ----

  private takeDueTurns(elapsedMs: number): void {
    const perMs = this.settings.rate / 1000;
    const due = Math.floor(elapsedMs * perMs);
    const maxBacklog = Math.max(1, Math.ceil(LATE_AFTER_MS * perMs));
    if (due - this.turns > maxBacklog) {
      const dropped = due - maxBacklog - this.turns;
      this.counts.skippedLate += this.connectedTurns(this.turns, dropped);
      this.turns += dropped;
    }
    for (; this.turns < due; this.turns++) this.takeTurn(this.devices[this.turns % this.devices.length]!);
  }

  private takeTurn(device: VirtualDevice): void {
    const client = device.client;
    if (!client?.connected) return; // not on the air: its turn passes unsent, and uncounted
    if (device.inFlight >= this.settings.maxInFlight) {
      this.counts.skippedAwaitingAck += 1;
      return;
    }
    const now = Date.now();
    if (device.reportIntervalMs !== null) {
      if (now < device.nextReportMs) return; // configured to report less often: its turn passes
      device.nextReportMs = now + device.reportIntervalMs;
    }
    // A failing or noisy sensor skips turns as its health says; a dead one skips them all.
    if (device.sensor) {
      if (now < device.silentUntilMs) return;
      const gap = device.sensor.nextGap((now - this.createdAtMs) * (this.settings.health?.speed ?? 1));
      const usualMs = device.reportIntervalMs ?? (this.devices.length * 1000) / this.settings.rate;
      // Turns come every usualMs: half a turn early lands the beat on the turn nearest its gap.
      device.silentUntilMs = gap === null ? Infinity : now + (gap - 0.5) * usualMs;
      if (gap === null) return;
    }
    const uplink = device.model.next(now);
    // Without uploads (--no-video, or no HTTP URL) the alert names no clips it will never send.
    if (uplink.channel === 'alerts' && (!this.settings.httpUrl || this.settings.videos === false)) delete uplink.payload.files;
    const published = publishUplink(client, uplink, this.settings.qos);
    this.track(device, uplink.channel, published);
    if (uplink.channel === 'alerts' && uplink.payload.files?.length) {
      const names = uplink.payload.files;
      // Uploaded once the alert is acknowledged, as a dashcam does.
      published.then(
        () => this.queueUploads(device, names),
        () => undefined,
      );
    }
  }

  private queueUploads(device: VirtualDevice, names: string[]): void {
    const httpUrl = this.settings.httpUrl;
    if (!httpUrl || this.settings.videos === false || this.stopping) return;
    for (const name of names) {
      if (this.uploadQueue.length >= MAX_QUEUED_UPLOADS) {
        this.files.skipped += 1;
        continue;
      }
      this.uploadQueue.push(async () => {
        try {
          await new HttpDeviceClient(httpUrl, device.spec.token).uploadFile(clipFor(name), { name, type: 'video/webm' });
          this.files.uploaded += 1;
        } catch (err) {
          this.files.failed += 1;
          this.notice(`upload failed: ${errorText(err)}`, `device ${device.spec.id}: upload of ${name} failed (${errorText(err)})`);
        }
      });
    }
    this.pumpUploads();
  }

  private pumpUploads(): void {
    while (this.uploading < UPLOADS_AT_ONCE && this.uploadQueue.length) {
      const next = this.uploadQueue.shift()!;
      this.uploading += 1;
      void next().finally(() => {
        this.uploading -= 1;
        this.pumpUploads();
      });
    }
  }

  /** A publish of the device, counted as sent now and as acked or failed when it settles. */
  private track(device: VirtualDevice, channel: string, publish: Promise<void>): void {
    device.inFlight += 1;
    this.inFlight += 1;
    this.counts.sent += 1;
    publish.then(
      () => {
        device.inFlight -= 1;
        this.inFlight -= 1;
        this.counts.acked += 1;
      },
      (err: unknown) => {
        device.inFlight -= 1;
        this.inFlight -= 1;
        this.counts.publishErrors += 1;
        this.notice(`publish failed: ${errorText(err)}`, `device ${device.spec.id}: publish to ${channel} failed (${errorText(err)})`);
      },
    );
  }

  /** How many of `count` turns from `first` on belong to connected devices. */
  private connectedTurns(first: number, count: number): number {
    const n = this.devices.length;
    const connected = (i: number) => (this.devices[i % n]!.client?.connected ? 1 : 0);
    let total = 0;
    for (let i = 0; i < n; i++) total += connected(i);
    let turns = Math.floor(count / n) * total;
    for (let k = 0; k < count % n; k++) turns += connected(first + k);
    return turns;
  }

  // ---- stopping ----

  private async shutdown(reason: string): Promise<SimulationResult> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stoppedAtMs = performance.now();
    this.startedAtMs ??= this.stoppedAtMs;
    await waitFor(() => this.inFlight === 0 && this.pendingConnects.size === 0, this.settings.drainMs ?? 5_000);
    // Clips already on their way finish (they are small); those still waiting are dropped.
    this.files.skipped += this.uploadQueue.length;
    this.uploadQueue.length = 0;
    await waitFor(() => this.uploading === 0, this.settings.drainMs ?? 5_000);
    // Devices with acks still outstanding are cut off; the rest say goodbye with DISCONNECT.
    const closing = this.devices.flatMap((d) => (d.client ? [d.client.close(d.inFlight > 0)] : []));
    await withTimeout(Promise.all(closing), CLOSE_TIMEOUT_MS);
    for (const d of this.devices) if (d.client && d.client.mqtt.connected) d.client.mqtt.end(true);
    const result = { ...this.snapshot(), stopReason: reason };
    this.resolveDone(result);
    return result;
  }

  private notice(kind: string, message: string): void {
    if (this.noticed.has(kind) || this.noticed.size > MAX_DISTINCT_NOTICES) return;
    this.noticed.add(kind);
    this.events.notice?.(this.noticed.size > MAX_DISTINCT_NOTICES ? 'more kinds of errors: not shown; see the counts' : message);
  }
}

/** The sample clip a file name stands for: the front or the cab camera (apps/server/assets/videos). */
function clipFor(name: string): string {
  return fileURLToPath(new URL(`../../../assets/videos/${name.endsWith('-cab.webm') ? 'cab' : 'front'}.webm`, import.meta.url));
}

function publishUplink(client: DeviceClient, uplink: Uplink, qos: 0 | 1): Promise<void> {
  switch (uplink.channel) {
    case 'telemetry':
      return client.sendTelemetry(uplink.payload, qos);
    case 'alerts':
      return client.sendAlert(uplink.payload, qos);
    case 'heartbeat':
      return client.heartbeat(uplink.payload, qos);
    case 'location':
      return client.sendLocation(uplink.payload, qos);
  }
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return errorText(err.errors[0]);
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, but no longer than `ms`, and leaves no timer behind. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(20);
}
