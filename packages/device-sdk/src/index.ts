/**
 * Typed device SDK: connect a device to Tether over MQTT (TCP, TLS or
 * WebSocket) or HTTP, and publish telemetry, alerts, heartbeats, locations and
 * attributes. QoS 1 publishes resolve when Tether has committed the message.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import * as tus from 'tus-js-client';
import {
  deviceTopic,
  type AlertPayload,
  type CommandMessage,
  type HeartbeatPayload,
  type LocationPayload,
  type OtaJobMessage,
  type OtaStatusPayload,
} from '@tether/contracts';

export type CommandHandler = (command: CommandMessage) => unknown | Promise<unknown>;
export type ConfigHandler = (config: Record<string, unknown>) => void;

/** What a firmware handler tells Tether as it goes (devices/{id}/ota/status). */
export interface FirmwareReport {
  /**
   * Downloads the artifact, resuming with Range after a cut connection, checks its size and
   * sha256, and reports `downloading` (every 10%) and then `downloaded`. With `dest` (a file
   * path, or a stream such as the flash writer) the bytes go there, nothing is held in memory
   * and null is returned; otherwise they are returned.
   */
  download(dest?: string | NodeJS.WritableStream): Promise<Buffer | null>;
  progress(percent: number): Promise<void>;
  installing(): Promise<void>;
  /** Confirms the job: the device now runs `version` (default: the job's). Report it after the reboot. */
  installed(version?: string): Promise<void>;
  failed(error: string): Promise<void>;
}
export type FirmwareHandler = (job: OtaJobMessage, report: FirmwareReport) => unknown | Promise<unknown>;

export interface FirmwareOptions {
  /** The version running now: a job for it is confirmed at once (the device came back from its update). */
  currentVersion?: () => string | null;
  /** Base of a relative job url (when the server has no TETHER_PUBLIC_URL): http://host:8080. */
  httpUrl?: string;
  /** Download tries after a cut connection (default 5). */
  downloadRetries?: number;
}

export class FirmwareDownloadError extends Error {}

export type TelemetryValues = Record<string, number | string | boolean | Record<string, unknown> | unknown[]>;
export type TelemetryInput = TelemetryValues | { ts: number | string; values: TelemetryValues } | { ts: number | string; values: TelemetryValues }[];

export interface DeviceConnectOptions {
  /** mqtt://host:1883, mqtts://…, ws://host:8080/mqtt */
  url: string;
  deviceId: string;
  /** The device's access token, or a device JWT. */
  token: string;
  qos?: 0 | 1;
  keepalive?: number;
  /**
   * Reconnect automatically (default true), after any loss of the connection and
   * after any refused CONNECT but a bad credential, with exponential backoff and
   * jitter from reconnectMinMs (1 s) to reconnectMaxMs (30 s).
   */
  reconnect?: boolean;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** A refused CONNECT that will not succeed by retrying (bad credentials): reconnecting stops. */
  onRefused?: (err: Error & { code?: number }) => void;
  connectTimeoutMs?: number;
  mqtt?: IClientOptions;
}

/** CONNACK codes that retrying cannot fix: 3.1.1 bad user name or password / not authorized, MQTT 5 0x86 / 0x87. */
const isBadCredential = (code: number | undefined) => code === 4 || code === 5 || code === 0x86 || code === 0x87;

export class DeviceClient {
  private constructor(
    readonly mqtt: MqttClient,
    readonly deviceId: string,
    private readonly qos: 0 | 1,
  ) {}

  static connect(opts: DeviceConnectOptions): Promise<DeviceClient> {
    const minMs = opts.reconnectMinMs ?? 1000;
    const maxMs = Math.max(minMs, opts.reconnectMaxMs ?? 30_000);
    const client = mqtt.connect(opts.url, {
      username: opts.deviceId,
      password: opts.token,
      clientId: `${opts.deviceId}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: 4,
      keepalive: opts.keepalive ?? 30,
      reconnectPeriod: opts.reconnect === false ? 0 : minMs,
      // mqtt.js stops for good after any refusing CONNACK: "server unavailable" during a
      // database restart is temporary, so only a bad credential stops it (below).
      reconnectOnConnackError: opts.reconnect !== false,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      clean: true,
      ...opts.mqtt,
    });
    if (opts.reconnect !== false) {
      // Backoff: each failed attempt doubles the wait, with jitter so that a fleet does not come
      // back in step. mqtt.js retries on a fixed interval set when the connection is lost; it is
      // set again with the new period (its own _clearReconnect/_setupReconnect, as in mqtt.js 4 and 5).
      const timer = client as unknown as { _clearReconnect?: () => void; _setupReconnect?: () => void };
      let failures = 0;
      client.on('connect', () => {
        failures = 0;
        client.options.reconnectPeriod = minMs;
      });
      client.on('close', () => {
        const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(failures++, 16));
        client.options.reconnectPeriod = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        if (client.reconnecting && !client.disconnecting && timer._clearReconnect && timer._setupReconnect) {
          timer._clearReconnect();
          timer._setupReconnect();
        }
      });
      client.on('error', (err: Error & { code?: number }) => {
        if (!isBadCredential(err.code)) return;
        client.end(true);
        opts.onRefused?.(err);
      });
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        client.end(true);
        reject(err);
      };
      client.once('error', onError);
      client.once('connect', () => {
        client.off('error', onError);
        client.on('error', () => {}); // reconnects report through 'reconnect'/'offline'
        resolve(new DeviceClient(client, opts.deviceId, opts.qos ?? 1));
      });
    });
  }

  get connected(): boolean {
    return this.mqtt.connected;
  }

  /** Publishes raw JSON to one of this device's topics; resolves on PUBACK (QoS 1). */
  publish(topic: string, payload: unknown, qos: 0 | 1 = this.qos): Promise<void> {
    const body = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
    return new Promise((resolve, reject) => this.mqtt.publish(topic, body, { qos }, (err) => (err ? reject(err) : resolve())));
  }

  sendTelemetry(values: TelemetryInput, qos?: 0 | 1): Promise<void> {
    return this.publish(deviceTopic.telemetry(this.deviceId), values, qos);
  }
  sendAlert(alert: AlertPayload, qos?: 0 | 1): Promise<void> {
    return this.publish(deviceTopic.alerts(this.deviceId), alert, qos);
  }
  heartbeat(info?: HeartbeatPayload, qos?: 0 | 1): Promise<void> {
    return this.publish(deviceTopic.heartbeat(this.deviceId), info, qos);
  }
  sendLocation(location: LocationPayload, qos?: 0 | 1): Promise<void> {
    return this.publish(deviceTopic.location(this.deviceId), location, qos);
  }
  reportAttributes(attributes: Record<string, unknown>, qos?: 0 | 1): Promise<void> {
    return this.publish(deviceTopic.attributes(this.deviceId), attributes, qos);
  }

  private firmwareHandler: { handler: FirmwareHandler; opts: FirmwareOptions } | null = null;
  /** The deployment whose job the handler is running: a resent job is not run twice. */
  private firmwareRunning: string | null = null;
  private commandHandler: CommandHandler | null = null;
  private configHandler: ConfigHandler | null = null;
  private readonly seenCommands = new Set<string>();
  private routing = false;

  private route(): void {
    if (this.routing) return;
    this.routing = true;
    const prefix = `devices/${this.deviceId}/`;
    this.mqtt.on('message', (topic, payload) => {
      if (!topic.startsWith(prefix)) return;
      const path = topic.slice(prefix.length);
      if (path === 'config' && this.configHandler) {
        try {
          this.configHandler(JSON.parse(payload.toString()) as Record<string, unknown>);
        } catch {
          // a config that is not JSON is ignored
        }
        return;
      }
      if (path === 'ota' && this.firmwareHandler) {
        void this.runFirmware(payload);
        return;
      }
      const m = /^commands\/([^/]+)$/.exec(path);
      if (m && this.commandHandler) void this.runCommand(m[1]!, payload);
    });
  }

  private async runCommand(id: string, payload: Buffer): Promise<void> {
    // Delivery is at least once: a resent command is answered once.
    if (this.seenCommands.has(id)) return;
    this.seenCommands.add(id);
    if (this.seenCommands.size > 1000) this.seenCommands.delete(this.seenCommands.values().next().value!);
    let reply: { status: 'ok' | 'error'; result?: unknown; error?: string };
    try {
      const command = JSON.parse(payload.toString()) as CommandMessage;
      reply = { status: 'ok', result: await this.commandHandler!(command) };
    } catch (err) {
      reply = { status: 'error', error: err instanceof Error ? err.message : String(err) };
    }
    await this.publish(deviceTopic.commandResult(this.deviceId, id), reply, 1).catch(() => {});
  }

  private async runFirmware(payload: Buffer): Promise<void> {
    let job: OtaJobMessage;
    try {
      job = JSON.parse(payload.toString()) as OtaJobMessage;
    } catch {
      return;
    }
    const { handler, opts } = this.firmwareHandler!;
    const status = (s: Omit<OtaStatusPayload, 'deploymentId'>) =>
      this.publish(deviceTopic.otaStatus(this.deviceId), { deploymentId: job.deploymentId, ...s }, 1);
    // Back from the update: the job is confirmed by the version now running.
    if (opts.currentVersion?.() === job.version) {
      await status({ state: 'installed', version: job.version }).catch(() => {});
      return;
    }
    if (this.firmwareRunning === job.deploymentId) return;
    this.firmwareRunning = job.deploymentId;
    let ended = false;
    const report: FirmwareReport = {
      download: (dest) =>
        downloadFirmware(job, { ...opts, dest, progress: (p) => status({ state: 'downloading', progress: p }) }).then(async (bytes) => {
          await status({ state: 'downloaded' });
          return bytes;
        }),
      progress: (p) => status({ state: 'downloading', progress: Math.max(0, Math.min(100, Math.round(p))) }),
      installing: () => status({ state: 'installing' }),
      installed: (version) => {
        ended = true;
        return status({ state: 'installed', version: version ?? job.version });
      },
      failed: (error) => {
        ended = true;
        return status({ state: 'failed', error: error.slice(0, 2048) });
      },
    };
    try {
      await handler(job, report);
    } catch (err) {
      if (!ended) await report.failed(err instanceof Error ? err.message : String(err)).catch(() => {});
    } finally {
      if (this.firmwareRunning === job.deploymentId) this.firmwareRunning = null;
    }
  }

  /**
   * Runs `handler` for each OTA job (devices/{id}/ota): it downloads with `report.download()`,
   * installs, and reports `installed` once the new version runs (or `failed`; a thrown error is
   * reported as failed). A job for the version `currentVersion()` returns is confirmed at once.
   */
  async onFirmware(handler: FirmwareHandler, opts: FirmwareOptions = {}): Promise<void> {
    this.firmwareHandler = { handler, opts };
    this.route();
    await this.mqtt.subscribeAsync(deviceTopic.ota(this.deviceId), { qos: 1 });
  }

  /** Runs `handler` for each command; its return value (or thrown error) is the result Tether records. */
  async onCommand(handler: CommandHandler): Promise<void> {
    this.commandHandler = handler;
    this.route();
    await this.mqtt.subscribeAsync(`devices/${this.deviceId}/commands/+`, { qos: 1 });
  }

  /** Receives the resolved configuration now (retained) and on every change. */
  async onConfig(handler: ConfigHandler): Promise<void> {
    this.configHandler = handler;
    this.route();
    await this.mqtt.subscribeAsync(deviceTopic.config(this.deviceId), { qos: 1 });
  }

  close(force = false): Promise<void> {
    return new Promise((resolve) => this.mqtt.end(force, {}, () => resolve()));
  }
}

/**
 * Fetches a job's artifact with Range requests, resuming where a cut connection (or a
 * 5xx, or 429) left off, with backoff, up to `downloadRetries` times; hashes on the way;
 * refuses bytes whose size or sha256 are not the job's.
 */
export async function downloadFirmware(
  job: OtaJobMessage,
  opts: { httpUrl?: string; dest?: string | NodeJS.WritableStream; downloadRetries?: number; progress?: (percent: number) => Promise<void> } = {},
): Promise<Buffer | null> {
  const url = job.url.startsWith('/') ? `${(opts.httpUrl ?? '').replace(/\/$/, '')}${job.url}` : job.url;
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  const file: NodeJS.WritableStream | null = typeof opts.dest === 'string' ? fs.createWriteStream(opts.dest) : (opts.dest ?? null);
  let got = 0;
  let reported = 0;
  let failures = 0;
  try {
    while (got < job.size) {
      try {
        const res = await fetch(url, { headers: got ? { range: `bytes=${got}-` } : {} });
        if (res.status !== (got ? 206 : 200)) {
          const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
          const message = `download: HTTP ${res.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim();
          // A server or proxy that is down or busy (a node restarting behind a load balancer) is tried
          // again; anything else (an expired link, a firmware gone) will not get better.
          if (res.status >= 500 || res.status === 429) throw new Error(message);
          throw new FirmwareDownloadError(message);
        }
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const b = Buffer.from(chunk);
          if (got + b.length > job.size) throw new FirmwareDownloadError(`download: more than the job's ${job.size} bytes`);
          hash.update(b);
          if (file) {
            if (!file.write(b)) await new Promise<void>((r) => file.once('drain', () => r()));
          } else chunks.push(b);
          got += b.length;
          const percent = Math.floor((got * 10) / job.size) * 10;
          if (percent > reported && percent < 100) {
            reported = percent;
            await opts.progress?.(percent).catch(() => {});
          }
        }
      } catch (err) {
        if (err instanceof FirmwareDownloadError || ++failures > (opts.downloadRetries ?? 5)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** failures)));
      }
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== job.sha256) throw new FirmwareDownloadError(`download: the bytes hash to ${sha256}, not ${job.sha256}`);
  } finally {
    if (file) await new Promise<void>((r) => file.end(() => r()));
  }
  return file ? null : Buffer.concat(chunks);
}

/** How `HttpDeviceClient.uploadReport` sends a report. */
export interface ReportUploadOptions {
  /** JSON lines (one telemetry object or array per line) or CSV (a header `ts,<key>,…` or `uptime,<key>,…`). */
  format: 'jsonl' | 'csv';
  /** The device's uptime in seconds now: readings stamped with `uptime` are placed by it (X-Device-Uptime). */
  sentUptime?: number;
  /** The device's own id for the report: uploading it again returns the first upload (X-Report-Id). */
  reportId?: string;
}

/** The server's answer to an upload: the report is stored and will be parsed. */
export interface ReportReceipt {
  id: string;
  state: 'stored' | 'parsing' | 'done' | 'failed';
  duplicate: boolean;
  bytes: number;
  sha256: string;
  statusUrl: string;
}

/** A report's progress, as the device reads it. */
export interface ReportStatus {
  id: string;
  state: 'stored' | 'parsing' | 'done' | 'failed';
  lines: { total: number; accepted: number; rejected: number; last: number };
  readings: number;
  failure: string | null;
}

async function httpError(res: Response): Promise<Error> {
  const err = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  return Object.assign(new Error(err.error?.message ?? `HTTP ${res.status}`), { status: res.status, code: err.error?.code });
}

/** The HTTP device API, for devices without MQTT. Each call resolves after commit. */
export class HttpDeviceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async post(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/v1/device/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? '' : JSON.stringify(body),
    });
    if (!res.ok) {
      const err = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw Object.assign(new Error(err.error?.message ?? `HTTP ${res.status}`), { status: res.status, code: err.error?.code });
    }
  }

  sendTelemetry(values: TelemetryInput) {
    return this.post('telemetry', values);
  }
  sendAlert(alert: AlertPayload) {
    return this.post('alerts', alert);
  }
  heartbeat(info?: HeartbeatPayload) {
    return this.post('heartbeat', info);
  }
  sendLocation(location: LocationPayload) {
    return this.post('location', location);
  }
  reportAttributes(attributes: Record<string, unknown>) {
    return this.post('attributes', attributes);
  }

  /** The device's OTA job now, or null. */
  async otaJob(): Promise<OtaJobMessage | null> {
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/v1/device/ota`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status === 204) return null;
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    return (await res.json()) as OtaJobMessage;
  }

  otaStatus(report: OtaStatusPayload) {
    return this.post('ota/status', report);
  }

  /**
   * Uploads a file (a path or bytes) to the device's folder, `<device>/<name>`, resumably (tus,
   * README "Files and video"): a dropped connection is retried and resumes from the last byte the
   * server has, never from zero. Resolves once the file is stored, with its id and the type read
   * from its bytes. Refusals reject with `code`: FILE_EXISTS, FILE_QUOTA_EXCEEDED,
   * FILE_TYPE_MISMATCH, FILE_NAME_INVALID…
   */
  async uploadFile(source: string | Buffer, opts: UploadFileOptions = {}): Promise<UploadedFile> {
    const name = opts.name ?? (typeof source === 'string' ? source.split(/[\\/]/).pop()! : undefined);
    if (!name) throw new Error('uploadFile: give a name for bytes');
    const size = typeof source === 'string' ? (await fs.promises.stat(source)).size : source.length;
    const urlStorage = opts.resumeStorePath
      ? new (tus as unknown as { FileUrlStorage: new (p: string) => tus.UrlStorage }).FileUrlStorage(opts.resumeStorePath)
      : undefined;
    let fileId: string | null = null;
    let contentType = '';
    await new Promise<void>((resolve, reject) => {
      const upload = new tus.Upload(typeof source === 'string' ? fs.createReadStream(source) : source, {
        endpoint: `${this.baseUrl.replace(/\/$/, '')}/api/v1/device/files/uploads`,
        headers: { authorization: `Bearer ${this.token}` },
        metadata: { filename: name, ...(opts.type ? { filetype: opts.type } : {}) },
        uploadSize: size,
        ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
        retryDelays: opts.retryDelays ?? [0, 1000, 3000, 5000, 10_000, 30_000],
        ...(urlStorage ? { urlStorage, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true } : { storeFingerprintForResuming: false }),
        onProgress: opts.onProgress,
        onAfterResponse: (_req, res) => {
          const id = res.getHeader('Tether-File-Id');
          if (id) {
            fileId = id;
            contentType = res.getHeader('Tether-Content-Type') ?? '';
          }
        },
        onSuccess: () => resolve(),
        onError: (err) => {
          const res = (err as tus.DetailedError).originalResponse;
          let code: string | undefined;
          try {
            code = (JSON.parse(res?.getBody() ?? '') as { error?: { code?: string } }).error?.code;
          } catch {
            // not our JSON
          }
          reject(Object.assign(new Error(err.message), { status: res?.getStatus(), code }));
        },
      });
      const start = async () => {
        if (urlStorage) {
          const previous = await upload.findPreviousUploads();
          if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      };
      void start().catch(reject);
      opts.signal?.addEventListener('abort', () => void upload.abort(), { once: true });
    });
    // An upload found complete on resume (its last answer was lost) has no id header: it is the stored file of that name.
    return { id: fileId, name, size, contentType: contentType || null };
  }

  /**
   * Uploads buffered readings as one store-and-forward report, streamed from a
   * file path or a stream (never read whole). Resolves once the server has
   * stored it; it is parsed afterwards (see reportStatus).
   */
  async uploadReport(source: string | NodeJS.ReadableStream, opts: ReportUploadOptions): Promise<ReportReceipt> {
    const stream = typeof source === 'string' ? fs.createReadStream(source) : source;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      'content-type': opts.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    };
    if (typeof source === 'string') headers['content-length'] = String((await fs.promises.stat(source)).size);
    if (opts.sentUptime !== undefined) headers['x-device-uptime'] = String(opts.sentUptime);
    if (opts.reportId !== undefined) headers['x-report-id'] = opts.reportId;
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/v1/device/reports`, {
      method: 'POST',
      headers,
      body: Readable.toWeb(Readable.from(stream as AsyncIterable<Uint8Array>)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    if (res.status !== 202) throw await httpError(res);
    return (await res.json()) as ReportReceipt;
  }

  /** One of this device's reports: its state and line counts. */
  async reportStatus(id: string): Promise<ReportStatus> {
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/v1/device/reports/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) throw await httpError(res);
    return (await res.json()) as ReportStatus;
  }
}

export interface UploadFileOptions {
  /** The file's name in the device's folder (default: the path's base name). */
  name?: string;
  /** The declared content type; the server checks it against the bytes. */
  type?: string;
  /** Send in requests of this many bytes (default: one request, resumed after a drop). */
  chunkSize?: number;
  /** Waits between retries after a failure, ms. */
  retryDelays?: number[];
  /** A JSON file where uploads in progress are remembered, so one survives a restart of the device's process. */
  resumeStorePath?: string;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface UploadedFile {
  /** The stored file's id (null if the upload was already complete when resumed). */
  id: string | null;
  name: string;
  size: number;
  /** The type read from the bytes. */
  contentType: string | null;
}
