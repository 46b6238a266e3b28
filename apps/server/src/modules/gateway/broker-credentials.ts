import { ExternalBrokerError } from '../../platform/mqtt/external-client.js';
import { MosquittoDynsec, type DynsecCommand, type DynsecResponse } from '../../platform/mqtt/mosquitto-dynsec.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { CredentialMirror } from '../devices/credential-mirror.js';
import { isUuid } from '../errors.js';
import { deviceAclFilters } from './routes.js';

/** Each device gets a role of its own: Mosquitto 2.0's dynamic security has no %u in its ACLs. */
export const DEVICE_ROLE_PREFIX = 'tether-device-';
/** The role Tether gives its own client (MQTT_URL's user): consume the device topics, publish commands and config. */
export const SERVICE_ROLE = 'tether-service';
/** A broker client newer than this is left alone by a reconcile: its device may not be committed yet. */
const RECONCILE_GRACE_MS = 60_000;
/** A failed removal is tried again this often, until it is done. */
const RETRY_MS = 5_000;
const PAGE = 1000;
/** How often a worker node reconciles the broker's clients with Tether's devices (and on every reconnect). */
export const BROKER_CREDENTIALS_RECONCILE_MS = 5 * 60_000;

type Acl = { acltype: string; topic: string; allow: boolean; priority?: number };

/** The ACLs of one device's role: exactly deviceMay's table (routes.ts). */
export function deviceRoleAcls(deviceId: string): Acl[] {
  const f = deviceAclFilters(deviceId);
  return [
    ...f.publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true })),
    ...f.subscribeLiteral.map((topic) => ({ acltype: 'subscribeLiteral', topic, allow: true })),
    ...f.subscribePattern.map((topic) => ({ acltype: 'subscribePattern', topic, allow: true })),
  ];
}

const SERVICE_ACLS: Acl[] = [
  { acltype: 'publishClientSend', topic: 'devices/#', allow: true },
  { acltype: 'publishClientReceive', topic: 'devices/#', allow: true },
  { acltype: 'subscribePattern', topic: 'devices/#', allow: true },
  { acltype: 'subscribePattern', topic: '$share/#', allow: true },
];

/** What a reconcile needs to know of Tether's devices, across orgs. */
export interface CredentialDirectory {
  /** Of these device ids, those that exist and hold a token that is not revoked. */
  withLiveToken(ids: string[]): Promise<Set<string>>;
  /** How many devices hold a token that is not revoked. */
  countWithLiveToken(): Promise<number>;
}

export interface ReconcileResult {
  /** Broker clients of devices that were deleted or revoked, now removed. */
  removed: number;
  /** Devices with a live token the broker does not know (created before the sync, or while it failed): rotate their credentials. */
  missing: number;
}

class DynsecCommandError extends Error {}

/**
 * Tether's devices as Mosquitto dynamic-security clients (README, External
 * MQTT broker): username = device id, password = its token, one role per
 * device with its topic table. Tokens are put when issued (the devices
 * service commits one only once the broker has it), removed when revoked or
 * deleted, and a reconcile on every connection and every few minutes removes
 * what a failed removal or another node's crash left.
 */
export class MosquittoCredentials implements CredentialMirror {
  private readonly pendingRemovals = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set by the last reconcile. */
  lastReconcile: (ReconcileResult & { at: Date }) | null = null;

  constructor(
    private readonly dynsec: Pick<MosquittoDynsec, 'run' | 'connected' | 'whenConnected'>,
    private readonly directory: CredentialDirectory,
    private readonly logger: Logger,
  ) {}

  /**
   * Gives Tether's own client (MQTT_URL's user) the service role: the admin
   * role of `mosquitto_ctrl dynsec init` cannot publish to devices. Changes
   * only what is missing, since the plugin ends the sessions of every client
   * whose roles change (all of Tether's, on every node): once, at the first start.
   */
  async ensureServiceRole(username: string): Promise<void> {
    // Adding the role ends this connection too (same user): its answer may be lost, so look again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dynsec.whenConnected(10_000);
        if (await this.serviceRoleInPlace(username)) return;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  /** True if it was already in place; otherwise puts it in place and returns false. */
  private async serviceRoleInPlace(username: string): Promise<boolean> {
    const [role, client] = await this.must(
      [
        { command: 'getRole', rolename: SERVICE_ROLE },
        { command: 'getClient', username },
      ],
      ['Role not found'],
    );
    const acls = (role!.data?.role as { acls?: Acl[] } | undefined)?.acls;
    const key = (a: Acl[]) => JSON.stringify(a.map((x) => [x.acltype, x.topic, x.allow]).sort());
    const roles = (client!.data?.client as { roles?: { rolename: string }[] } | undefined)?.roles ?? [];
    const hasRole = roles.some((r) => r.rolename === SERVICE_ROLE);
    if (acls && key(acls) === key(SERVICE_ACLS) && hasRole) return true;
    this.logger.info({ username, role: SERVICE_ROLE }, "giving Tether's broker client its role (the broker ends that client's sessions once)");
    if (!acls) await this.must([{ command: 'createRole', rolename: SERVICE_ROLE, textname: 'Tether ingest and downlink', acls: SERVICE_ACLS }]);
    else if (key(acls) !== key(SERVICE_ACLS)) await this.must([{ command: 'modifyRole', rolename: SERVICE_ROLE, acls: SERVICE_ACLS }]);
    if (!hasRole) await this.must([{ command: 'addClientRole', username, rolename: SERVICE_ROLE }]);
    return false;
  }

  async put(device: { id: string; orgId: string }, token: string): Promise<void> {
    const rolename = DEVICE_ROLE_PREFIX + device.id;
    const acls = deviceRoleAcls(device.id);
    const described = { textname: 'Tether device', textdescription: `org ${device.orgId}; synced ${new Date().toISOString()}` };
    this.pendingRemovals.delete(device.id);
    const [role, client] = await this.must(
      [
        { command: 'createRole', rolename, acls },
        { command: 'createClient', username: device.id, password: token, roles: [{ rolename }], ...described },
      ],
      ['Role already exists', 'Client already exists'],
    );
    // A rotation (or what a failed removal left): the role's ACLs and the new password. The plugin
    // ends the device's sessions on either change, so the old token's sessions end here.
    const again: DynsecCommand[] = [];
    if (role!.error) again.push({ command: 'modifyRole', rolename, acls });
    if (client!.error) again.push({ command: 'modifyClient', username: device.id, password: token, roles: [{ rolename }], ...described });
    if (again.length) await this.must(again);
  }

  async remove(deviceId: string): Promise<void> {
    try {
      await this.removeNow(deviceId);
    } catch (err) {
      this.logger.warn({ deviceId, err: (err as Error).message }, 'device credentials not yet removed from the MQTT broker; retrying');
      this.pendingRemovals.add(deviceId);
      this.retryTimer ??= setInterval(() => void this.retryRemovals(), RETRY_MS);
      this.retryTimer.unref();
    }
  }

  /** Removals waiting for the broker. */
  get pending(): number {
    return this.pendingRemovals.size;
  }

  private async removeNow(deviceId: string): Promise<void> {
    // deleteClient also ends the device's sessions.
    await this.must(
      [
        { command: 'deleteClient', username: deviceId },
        { command: 'deleteRole', rolename: DEVICE_ROLE_PREFIX + deviceId },
      ],
      ['Client not found', 'Role not found'],
    );
    this.pendingRemovals.delete(deviceId);
  }

  private async retryRemovals(): Promise<void> {
    if (!this.dynsec.connected) return;
    for (const id of [...this.pendingRemovals]) {
      try {
        await this.removeNow(id);
      } catch {
        return;
      }
    }
    if (!this.pendingRemovals.size && this.retryTimer) {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  /**
   * Removes broker clients whose device was deleted or whose token was
   * revoked, and counts devices whose token the broker does not know.
   */
  async reconcile(now = Date.now()): Promise<ReconcileResult> {
    let removed = 0;
    let brokerLive = 0;
    for (let offset = 0; ; offset += PAGE) {
      const [list] = await this.must([{ command: 'listClients', verbose: true, count: PAGE, offset }]);
      const clients = ((list!.data?.clients as { username: string; textdescription?: string; roles?: { rolename: string }[] }[]) ?? []).filter(
        (c) => isUuid(c.username) && c.roles?.some((r) => r.rolename === DEVICE_ROLE_PREFIX + c.username),
      );
      const live = await this.directory.withLiveToken(clients.map((c) => c.username));
      for (const c of clients) {
        if (live.has(c.username)) {
          brokerLive++;
          continue;
        }
        const synced = Date.parse(/synced (\S+)/.exec(c.textdescription ?? '')?.[1] ?? '');
        if (Number.isFinite(synced) && now - synced < RECONCILE_GRACE_MS) continue;
        await this.removeNow(c.username);
        removed++;
        offset--; // the list shifted down by one
      }
      const total = Number(list!.data?.totalCount ?? 0);
      if (offset + PAGE >= total) break;
    }
    const missing = Math.max(0, (await this.directory.countWithLiveToken()) - brokerLive);
    this.lastReconcile = { removed, missing, at: new Date(now) };
    if (removed || missing)
      this.logger.warn(
        { removed, missing },
        missing
          ? `MQTT broker credentials reconciled: ${missing} devices have a token the broker does not know; rotate their credentials so that they can connect`
          : 'MQTT broker credentials reconciled',
      );
    return { removed, missing };
  }

  /** Reconciles now and every `intervalMs`, logging rather than throwing. */
  startReconciling(intervalMs: number): void {
    const run = () => {
      if (this.closed || !this.dynsec.connected) return;
      this.reconcile().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'MQTT broker credential reconcile failed'));
    };
    run();
    this.reconcileTimer = setInterval(run, intervalMs);
    this.reconcileTimer.unref();
  }

  /** Runs commands; throws if one failed with an error not in `tolerated`, or the broker did not answer. */
  private async must(commands: DynsecCommand[], tolerated: string[] = []): Promise<DynsecResponse[]> {
    const responses = await this.dynsec.run(commands);
    const failed = responses.find((r) => r.error && !tolerated.includes(r.error));
    if (failed) throw new DynsecCommandError(`${failed.command}: ${failed.error}`);
    return responses;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
  }
}

export interface BrokerCredentialsOptions {
  url: string;
  logger: Logger;
  directory: CredentialDirectory;
  /** Reconcile on every (re)connect and this often; null: never (a node without the worker role). */
  reconcileEveryMs: number | null;
}

/**
 * Connects to the plugin, gives Tether's client its role, and starts the
 * reconcile. Throws ExternalBrokerError if the broker cannot be reached or
 * MQTT_URL's user is not the plugin's admin.
 */
export async function startMosquittoCredentials(opts: BrokerCredentialsOptions): Promise<{ mirror: MosquittoCredentials; dynsec: MosquittoDynsec }> {
  const dynsec = await MosquittoDynsec.connect({ url: opts.url, logger: opts.logger });
  const mirror = new MosquittoCredentials(dynsec, opts.directory, opts.logger);
  try {
    await mirror.ensureServiceRole(decodeURIComponent(new URL(opts.url).username));
  } catch (err) {
    await dynsec.close();
    throw err instanceof ExternalBrokerError ? err : new ExternalBrokerError(opts.url, `dynamic security plugin: ${(err as Error).message}`);
  }
  if (opts.reconcileEveryMs !== null) {
    mirror.startReconciling(opts.reconcileEveryMs);
    dynsec.onReconnect(() => void mirror.reconcile().catch(() => {}));
  }
  return { mirror, dynsec };
}
