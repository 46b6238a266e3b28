import { CommandResultPayload, isFinalCommandStatus, type CommandMessage, type LiveCommandEvent } from '@tether/contracts';
import { Compile } from 'typebox/compile';
import { MQTT_COMMANDS_IN_FLIGHT } from '../../config/config.js';
import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { assertStorableJson, UnstorableJsonError } from '../../platform/json/storable.js';
import type { Logger } from '../../platform/observability/logger.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { IngestRejection } from '../ingest/ingest-message.js';
import type { TemplatesService } from '../templates/templates.service.js';
import type { DomainBus } from '../events/domain-events.js';
import { CommandsRepository, type CommandRow } from './commands.repository.js';
import type { Command } from './commands.schemas.js';

export type { Command };

export const COMMAND_EXPIRE_QUEUE = 'command-expire';
export const COMMAND_RETRY_QUEUE = 'command-retry';
/**
 * Commands of one device in flight over MQTT: a device that stops reading holds at
 * most this many, and a burst reaches a slow link as fast as it takes them instead
 * of piling up in its socket.
 */
export const COMMAND_WINDOW = MQTT_COMMANDS_IN_FLIGHT;

const resultCheck = Compile(CommandResultPayload);

const iso = (d: Date | null) => d?.toISOString() ?? null;
export const toCommand = (r: CommandRow): Command => ({
  id: r.id,
  deviceId: r.device_id,
  name: r.name,
  params: r.params,
  status: r.status,
  timeoutMs: r.timeout_ms,
  retries: r.retries,
  attempts: r.attempts,
  expiresAt: r.expires_at.toISOString(),
  result: r.result,
  error: r.error,
  createdBy: { kind: r.created_by_kind as Command['createdBy']['kind'], id: r.created_by }, // written from Actor['kind']
  createdAt: r.created_at.toISOString(),
  sentAt: iso(r.sent_at),
  deliveredAt: iso(r.delivered_at),
  completedAt: iso(r.completed_at),
});

/** How commands reach devices over MQTT; the embedded broker implements it. */
export interface CommandChannel {
  /** True when the device is connected and subscribed to its command topic. */
  isListening(deviceId: string): boolean;
  /** Publishes at QoS 1 on devices/{id}/commands/{commandId}. */
  send(deviceId: string, commandId: string, message: CommandMessage): void;
}

export interface CommandsServiceDeps {
  db: Database;
  devices: DevicesService;
  templates: TemplatesService;
  jobs: Jobs | null;
  logger: Logger;
  bus: DomainBus;
  publish(orgId: string, event: LiveCommandEvent): void;
  defaultExpiryMs: number;
}

/**
 * Persistent commands: queued → sent → delivered → succeeded | failed | expired | timed-out | cancelled.
 * MQTT delivery on connect/subscribe and by retry jobs; HTTP delivery by long-poll.
 */
export class CommandsService {
  private readonly repo: CommandsRepository;
  private readonly audit: AuditLog;
  private channel: CommandChannel | null = null;
  private readonly waiters = new Map<string, Set<(c: Command | null) => void>>();
  private stopped = false;
  private readonly pollers = new Map<string, Set<() => void>>();

  constructor(private readonly deps: CommandsServiceDeps) {
    this.repo = new CommandsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
    // Another node queued a command, or made room in a window: send it if the device is here; wake its long-polls here.
    deps.bus.on('command.pending', async (device, from) => {
      if (from.local) return;
      this.wakePollers(device.deviceId);
      await this.deliverPending(device);
    });
    // A command finished on another node: callers waiting here read it.
    deps.bus.on('command.changed', async ({ commandId, status }, from) => {
      if (from.local || !isFinalCommandStatus(status) || !this.waiters.has(commandId)) return;
      const row = await this.repo.byId(commandId);
      if (row) this.notifyWaiters(toCommand(row));
    });
    // Wake-ups missed while cut off from the other nodes: long-polls ask again (they claim from the database).
    deps.bus.onReconnect(() => {
      for (const id of [...this.pollers.keys()]) this.wakePollers(id);
    });
  }

  attachChannel(channel: CommandChannel): void {
    this.channel = channel;
  }

  async create(
    actor: Actor,
    deviceId: string,
    input: { name: string; params?: Record<string, unknown>; timeoutMs?: number; expiresAt?: string; retries?: number },
  ): Promise<Command> {
    requireRole(actor, 'operator');
    const device = await this.deps.devices.get(actor, deviceId);
    const name = input.name.trim();
    if (!name) throw new AppError('VALIDATION_FAILED', 'name is required');
    await this.deps.templates.checkCommand(device.templateId, name, input.params ?? {});
    const timeoutMs = input.timeoutMs ?? 30_000;
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : new Date(Date.now() + Math.max(this.deps.defaultExpiryMs, timeoutMs));
    if (Number.isNaN(expiresAt.getTime())) throw new AppError('VALIDATION_FAILED', 'expiresAt must be an ISO 8601 time');
    if (expiresAt.getTime() <= Date.now()) throw new AppError('VALIDATION_FAILED', 'expiresAt is in the past');
    const row = await this.repo.insert({
      orgId: actor.orgId,
      deviceId: device.id,
      name,
      params: input.params ?? {},
      timeoutMs,
      retries: input.retries ?? 0,
      expiresAt,
      createdBy: actor.userId ?? actor.apiKeyId,
      createdByKind: actor.kind,
    });
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'command.create',
      targetKind: 'device',
      targetId: device.id,
      details: { commandId: row.id, name, params: row.params },
    });
    await this.deps.jobs?.send(COMMAND_EXPIRE_QUEUE, { commandId: row.id }, { startAfter: expiresAt });
    this.emit(row, device.projectId);
    const identity = { deviceId: device.id, orgId: actor.orgId, projectId: device.projectId };
    await this.deliverPending(identity);
    this.wakePollers(device.id);
    this.deps.bus.emit('command.pending', identity, 'others');
    return toCommand((await this.repo.byId(row.id)) ?? row);
  }

  async list(actor: Actor, deviceId: string, q: { status?: string; limit?: number }) {
    const device = await this.deps.devices.get(actor, deviceId);
    const rows = await this.repo.list(actor.orgId, device.id, q.status ?? null, Math.min(Math.max(q.limit ?? 50, 1), 500));
    return { items: rows.map(toCommand) };
  }

  async get(actor: Actor, deviceId: string, commandId: string): Promise<Command> {
    const device = await this.deps.devices.get(actor, deviceId);
    const row = await this.repo.get(actor.orgId, device.id, assertUuid(commandId, 'command id'));
    if (!row) throw new AppError('COMMAND_NOT_FOUND', `command ${commandId} not found`);
    return toCommand(row);
  }

  async cancel(actor: Actor, deviceId: string, commandId: string): Promise<Command> {
    requireRole(actor, 'operator');
    const current = await this.get(actor, deviceId, commandId);
    const row = await this.repo.cancel(actor.orgId, current.deviceId, current.id);
    if (!row) throw new AppError('COMMAND_NOT_CANCELLABLE', `command is ${current.status}; only a queued command can be cancelled`);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'command.cancel',
      targetKind: 'device',
      targetId: row.device_id,
      details: { commandId: row.id },
    });
    this.emit(row, null);
    return toCommand(row);
  }

  /** True once releaseWaiters ran: the server is shutting down. */
  get stopping(): boolean {
    return this.stopped;
  }

  /**
   * Shutdown: answers every held request now, so the HTTP server can close. A
   * long-poll returns what it has (the device polls again, elsewhere); a
   * `?wait=true` answers 503 SHUTTING_DOWN with the command still tracked.
   */
  releaseWaiters(): void {
    this.stopped = true;
    for (const set of [...this.pollers.values()]) for (const wake of [...set]) wake();
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done(null);
  }

  /** Resolves with the command once it is finished, or null after `ms`. */
  waitForCompletion(commandId: string, ms: number): Promise<Command | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve) => {
      let set = this.waiters.get(commandId);
      if (!set) this.waiters.set(commandId, (set = new Set()));
      const done = (c: Command | null) => {
        clearTimeout(timer);
        set!.delete(onDone);
        if (set!.size === 0) this.waiters.delete(commandId);
        resolve(c);
      };
      const onDone = (c: Command | null) => done(c);
      const timer = setTimeout(() => done(null), ms);
      set.add(onDone);
    });
  }

  /**
   * MQTT: sends a listening device its queued commands, as many as its window
   * has room for (connect, subscribe, a new command, a PUBACK). `newSession`:
   * the device has just subscribed on a new connection, so what an earlier
   * connection was sent and never acknowledged is sent again first. Each send
   * is one attempt; nothing is sent twice for one reason.
   */
  async deliverPending(device: DeviceIdentity, opts: { newSession?: boolean } = {}): Promise<void> {
    if (!this.channel?.isListening(device.deviceId)) return;
    if (opts.newSession) for (const row of await this.repo.claimUnacked(device.deviceId, COMMAND_WINDOW)) this.sendOverMqtt(row, device.projectId);
    for (const row of await this.repo.claimQueued(device.deviceId, COMMAND_WINDOW)) this.sendOverMqtt(row, device.projectId);
  }

  /** A command of the device left `sent`: its window has room for the next queued one, here or on the node that holds the device. */
  private async topUp(row: CommandRow, projectId: string | null): Promise<void> {
    const device = { deviceId: row.device_id, orgId: row.org_id, projectId };
    await this.deliverPending(device);
    this.deps.bus.emit('command.pending', device, 'others');
  }

  private wakePollers(deviceId: string): void {
    for (const wake of [...(this.pollers.get(deviceId) ?? [])]) wake();
  }

  private notifyWaiters(command: Command): void {
    for (const w of [...(this.waiters.get(command.id) ?? [])]) w(command);
  }

  private sendOverMqtt(row: CommandRow, projectId: string | null): void {
    this.channel?.send(row.device_id, row.id, { id: row.id, name: row.name, params: row.params, expiresAt: row.expires_at.toISOString() });
    this.emit(row, projectId);
    this.checkAfterTimeout(row);
  }

  /** Schedules the timeout check (retry): every send and every delivery ends in an answer, a resend or timed-out. */
  private checkAfterTimeout(row: CommandRow): void {
    void this.deps.jobs
      ?.send(COMMAND_RETRY_QUEUE, { commandId: row.id }, { startAfter: new Date(Date.now() + row.timeout_ms) })
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not schedule a command timeout check'));
  }

  /** The device's PUBACK for a command publish. */
  async markDelivered(device: DeviceIdentity, commandId: string): Promise<void> {
    const row = await this.repo.markDelivered(device.deviceId, commandId);
    if (row) {
      this.emit(row, device.projectId);
      this.checkAfterTimeout(row);
      await this.topUp(row, device.projectId);
    }
  }

  /**
   * A device reports a result (MQTT `…/commands/{id}/result` or HTTP). Only the
   * device the command was sent to may answer it.
   */
  async complete(device: DeviceIdentity, commandId: string, payload: Buffer | string | unknown): Promise<Command> {
    let body: unknown = payload;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      try {
        body = JSON.parse(payload.toString());
      } catch {
        throw new IngestRejection('malformed_json', 'command result is not valid JSON');
      }
    }
    if (!resultCheck.Check(body)) throw new IngestRejection('invalid_payload', 'command result must be {"status":"ok"|"error","result"?,"error"?}');
    try {
      assertStorableJson(body);
    } catch (err) {
      if (err instanceof UnstorableJsonError) throw new IngestRejection('invalid_payload', `command result: ${err.message}`);
      throw err;
    }
    const id = commandId.toLowerCase();
    const row = /^[0-9a-f-]{36}$/.test(id) ? await this.repo.complete(device.deviceId, id, body.status === 'ok', body.result, body.error ?? null) : null;
    if (!row) {
      const existing = /^[0-9a-f-]{36}$/.test(id) ? await this.repo.byId(id) : null;
      if (!existing || existing.device_id !== device.deviceId)
        throw new IngestRejection('not_authorized', `command ${commandId} is not a command of this device`);
      throw new IngestRejection('invalid_payload', `command ${commandId} is ${existing.status} and takes no result`);
    }
    await this.audit.record({
      orgId: row.org_id,
      actor: { kind: 'device', deviceId: device.deviceId },
      action: 'command.result',
      targetKind: 'device',
      targetId: device.deviceId,
      details: { commandId: row.id, status: row.status },
    });
    this.emit(row, device.projectId);
    // A result can come before the PUBACK (or instead of it, over HTTP).
    await this.topUp(row, device.projectId);
    return toCommand(row);
  }

  /** HTTP long-poll: claims open commands (delivered by the response itself), waiting up to `waitS` for one. */
  async poll(device: DeviceIdentity, waitS: number): Promise<Command[]> {
    const claim = async () => {
      const rows = await this.repo.claimForPoll(device.deviceId);
      for (const r of rows) {
        this.emit(r, device.projectId);
        this.checkAfterTimeout(r);
      }
      return rows.map(toCommand);
    };
    const first = await claim();
    if (first.length || waitS <= 0 || this.stopped) return first;
    await new Promise<void>((resolve) => {
      let set = this.pollers.get(device.deviceId);
      if (!set) this.pollers.set(device.deviceId, (set = new Set()));
      const wake = () => {
        clearTimeout(timer);
        set!.delete(wake);
        if (set!.size === 0) this.pollers.delete(device.deviceId);
        resolve();
      };
      const timer = setTimeout(wake, waitS * 1000);
      set.add(wake);
    });
    return claim();
  }

  /** Job: a command still open at its expiry becomes expired and is never delivered. */
  async expire(commandId: string): Promise<void> {
    const row = await this.repo.expire(commandId);
    if (row) {
      this.emit(row, null);
      await this.topUp(row, null);
    }
  }

  /**
   * Job, a timeout after each send and each delivery. No PUBACK: resend while
   * the retry budget lasts (or queue again for a device that went away), then
   * timed-out. Delivered without a result: timed-out. Each step is one
   * conditional UPDATE, so a stale or duplicate check changes nothing.
   */
  async retry(commandId: string): Promise<void> {
    const current = await this.repo.byId(commandId);
    if (!current || (current.status !== 'sent' && current.status !== 'delivered')) return;
    if (current.status === 'sent' && current.attempts <= current.retries) {
      if (this.channel?.isListening(current.device_id)) {
        const row = await this.repo.claimRetry(commandId);
        if (row) this.sendOverMqtt(row, null);
      } else {
        // Not connected here: queued again, for the node that holds the device or its next connection.
        const row = await this.repo.requeue(commandId);
        if (row) {
          this.emit(row, null);
          this.deps.bus.emit('command.pending', { deviceId: row.device_id, orgId: row.org_id, projectId: null }, 'others');
        }
      }
      return;
    }
    const row = await this.repo.timeOut(commandId);
    if (row) {
      this.emit(row, null);
      await this.topUp(row, null);
    }
  }

  private emit(row: CommandRow, projectId: string | null): void {
    const command = toCommand(row);
    if (isFinalCommandStatus(row.status)) {
      this.notifyWaiters(command);
      this.deps.bus.emit('command.changed', { commandId: row.id, deviceId: row.device_id, status: row.status }, 'others');
    }
    this.deps.publish(row.org_id, {
      type: 'command',
      deviceId: row.device_id,
      projectId,
      command: { id: row.id, name: row.name, status: row.status, result: row.result, error: row.error, updatedAt: row.updated_at.toISOString() },
    });
  }
}
