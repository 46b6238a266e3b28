/**
 * Typed client for Tether's REST API and live WebSocket. Works in Node 20+
 * and browsers; pass a WebSocket implementation where there is no global one.
 */
import type { LiveClientMessage, LiveServerMessage, LiveSubscribeMessage } from '@tether/contracts';

import type { components, paths } from './openapi.js';

export type { components, paths };

/** The API's named types, generated from the server's route schemas (openapi.ts). */
export type Schemas = components['schemas'];
export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type Session = Schemas['Session'];
export type Me = Schemas['Me'];
export type Org = Schemas['Org'];
export type ApiKey = Schemas['ApiKey'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditPage = Schemas['AuditPage'];
export type DeviceStatus = Schemas['DeviceStatus'];
export type Device = Schemas['Device'];
export type DevicePage = Schemas['DevicePage'];
export type CreatedDevice = Schemas['CreatedDevice'];
export type Project = Schemas['Project'];
export type Alert = Schemas['Alert'];
export type AlertDetail = Schemas['AlertDetail'];
export type EventFile = Schemas['EventFile'];
export type DeviceFile = Schemas['DeviceFile'];
export type DeviceFilePage = Schemas['DeviceFilePage'];
export type FileUsage = Schemas['FileUsage'];
export type AlarmRule = Schemas['AlarmRule'];
export type AlarmRuleInput = Schemas['AlarmRuleInput'];
export type Alarm = Schemas['Alarm'];
export type AlarmDetail = Schemas['AlarmDetail'];
export type AlarmPage = Schemas['AlarmPage'];
export type AlarmState = Schemas['AlarmState'];
export type AlarmHistoryEntry = Schemas['AlarmHistoryEntry'];
export type AlarmCounts = Schemas['AlarmCounts'];
export type Comparison = Schemas['Comparison'];
export type NotificationTarget = Schemas['NotificationTarget'];
export type NotificationTargetInput = Schemas['NotificationTargetInput'];
export type CreatedNotificationTarget = Schemas['CreatedNotificationTarget'];
export type NotificationDelivery = Schemas['NotificationDelivery'];
export type NotificationDeliveryPage = Schemas['NotificationDeliveryPage'];
export type TelemetrySeries = Schemas['TelemetryHistory'];
export type LatestTelemetry = Schemas['LatestTelemetry'];
export type Command = Schemas['Command'];
export type CommandStatus = Schemas['CommandStatus'];
export type DeviceTemplate = Schemas['DeviceTemplate'];
export type TelemetryKeySpec = Schemas['TelemetryKeySpec'];
export type CommandSpec = Schemas['CommandSpec'];
export type ResolvedConfig = Schemas['ResolvedConfig'];
export type ConfigSource = Schemas['ResolvedValue']['source'];
export type Property = Schemas['Property'];
export type PropertyMatch = Schemas['PropertyMatch'];
export type SearchResults = Schemas['SearchResults'];
export type DeviceMatch = Schemas['DeviceMatch'];
export type ProjectMatch = Schemas['ProjectMatch'];
export type PropertyHit = Schemas['PropertyHit'];
export type Note = Schemas['Note'];
export type EntityKind = Schemas['EntityKind'];
export type FleetOverview = Schemas['FleetOverview'];
export type ServerInfo = Schemas['ServerInfo'];
export type Report = Schemas['Report'];
export type ReportPage = Schemas['ReportPage'];
export type ReportLineError = Schemas['ReportLineError'];
export type Invitation = Schemas['Invitation'];
export type InvitationPreview = Schemas['InvitationPreview'];

type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;
/** The JSON body an operation takes. */
export type BodyOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The query parameters an operation takes. */
export type QueryOf<P extends keyof paths, M extends Method> = Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : void;
/** What an operation answers on success (its 200, 201 or 202; void for 204). */
export type ResponseOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R }
    ? R extends { 200: infer X }
      ? Json<X>
      : R extends { 201: infer X }
        ? Json<X>
        : R extends { 202: infer X }
          ? Json<X>
          : void
    : never;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = object;

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  refreshToken?: string;
  /** Called when tokens are refreshed, so the app can store them. */
  onTokens?(session: Session): void;
  fetch?: typeof fetch;
}

export class TetherClient {
  token: string | undefined;
  refreshToken: string | undefined;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/$/, '');
    this.token = opts.token;
    this.refreshToken = opts.refreshToken;
    this.fetchImpl = opts.fetch ?? fetch.bind(globalThis);
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query, retried = false): Promise<T> {
    const qs = query
      ? '?' +
        Object.entries(query as Record<string, unknown>)
          .filter(([, v]) => v !== undefined && v !== null && v !== '')
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetchImpl(`${this.baseUrl}${path}${qs === '?' ? '' : qs}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined as T;
    const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!res.ok) {
      // An expired access token is refreshed once, transparently.
      if (res.status === 401 && data.error?.code === 'TOKEN_EXPIRED' && this.refreshToken && !retried) {
        await this.refresh();
        return this.request(method, path, body, query, true);
      }
      throw new ApiError(res.status, data.error?.code ?? 'HTTP_ERROR', data.error?.message ?? `HTTP ${res.status}`);
    }
    return data as T;
  }

  async login(email: string, password: string, orgId?: string): Promise<Session> {
    const s = await this.request<Session>('POST', '/api/v1/auth/login', { email, password, orgId } satisfies BodyOf<'/api/v1/auth/login', 'post'>);
    this.setSession(s);
    return s;
  }

  async refresh(): Promise<Session> {
    const s = await this.request<Session>('POST', '/api/v1/auth/refresh', { refreshToken: this.refreshToken }, undefined, true);
    this.setSession(s);
    return s;
  }

  private setSession(s: Session) {
    this.token = s.accessToken;
    this.refreshToken = s.refreshToken;
    this.opts.onTokens?.(s);
  }

  me() {
    return this.request<Me>('GET', '/api/v1/users/me');
  }

  /** A new session in another org the user belongs to. */
  async switchOrg(orgId: string): Promise<Session> {
    const s = await this.request<Session>('POST', '/api/v1/auth/switch-org', { orgId } satisfies BodyOf<'/api/v1/auth/switch-org', 'post'>);
    this.setSession(s);
    return s;
  }

  /** Accepts an invitation (the token after `#` in its link) and signs in to its org. */
  async acceptInvitation(a: BodyOf<'/api/v1/auth/invitation/accept', 'post'>): Promise<Session> {
    const s = await this.request<Session>('POST', '/api/v1/auth/invitation/accept', a);
    this.setSession(s);
    return s;
  }

  readonly auth = {
    invitation: (token: string) =>
      this.request<ResponseOf<'/api/v1/auth/invitation', 'post'>>('POST', '/api/v1/auth/invitation', { token } satisfies BodyOf<
        '/api/v1/auth/invitation',
        'post'
      >),
    requestPasswordReset: (email: string) =>
      this.request<void>('POST', '/api/v1/auth/password-reset', { email } satisfies BodyOf<'/api/v1/auth/password-reset', 'post'>),
    confirmPasswordReset: (c: BodyOf<'/api/v1/auth/password-reset/confirm', 'post'>) => this.request<void>('POST', '/api/v1/auth/password-reset/confirm', c),
  };

  readonly invitations = {
    list: (q?: QueryOf<'/api/v1/invitations', 'get'>) => this.request<ResponseOf<'/api/v1/invitations', 'get'>>('GET', '/api/v1/invitations', undefined, q),
    create: (i: BodyOf<'/api/v1/invitations', 'post'>) => this.request<ResponseOf<'/api/v1/invitations', 'post'>>('POST', '/api/v1/invitations', i),
    revoke: (id: string) => this.request<void>('DELETE', `/api/v1/invitations/${id}`),
  };

  readonly users = {
    list: (q?: QueryOf<'/api/v1/users', 'get'>) => this.request<ResponseOf<'/api/v1/users', 'get'>>('GET', '/api/v1/users', undefined, q),
    get: (id: string) => this.request<User>('GET', `/api/v1/users/${id}`),
    create: (u: BodyOf<'/api/v1/users', 'post'>) => this.request<User>('POST', '/api/v1/users', u),
    update: (id: string, p: BodyOf<'/api/v1/users/{id}', 'put'>) => this.request<User>('PUT', `/api/v1/users/${id}`, p),
    /** Removes the user from the org (or, with one's own id, leaves it). */
    remove: (id: string) => this.request<void>('DELETE', `/api/v1/users/${id}`),
  };

  readonly orgs = {
    list: () => this.request<ResponseOf<'/api/v1/orgs', 'get'>>('GET', '/api/v1/orgs'),
    create: (name: string) => this.request<Org>('POST', '/api/v1/orgs', { name } satisfies BodyOf<'/api/v1/orgs', 'post'>),
  };

  readonly apiKeys = {
    list: () => this.request<ResponseOf<'/api/v1/api-keys', 'get'>>('GET', '/api/v1/api-keys'),
    create: (k: BodyOf<'/api/v1/api-keys', 'post'>) => this.request<CreatedApiKey>('POST', '/api/v1/api-keys', k),
    revoke: (id: string) => this.request<void>('DELETE', `/api/v1/api-keys/${id}`),
  };

  readonly audit = {
    list: (q?: QueryOf<'/api/v1/audit', 'get'>) => this.request<AuditPage>('GET', '/api/v1/audit', undefined, q),
  };

  readonly projects = {
    list: (q?: QueryOf<'/api/v1/projects', 'get'>) => this.request<ResponseOf<'/api/v1/projects', 'get'>>('GET', '/api/v1/projects', undefined, q),
    get: (id: string) => this.request<Project>('GET', `/api/v1/projects/${id}`),
    create: (p: BodyOf<'/api/v1/projects', 'post'>) => this.request<Project>('POST', '/api/v1/projects', p),
    update: (id: string, p: BodyOf<'/api/v1/projects/{id}', 'patch'>) => this.request<Project>('PATCH', `/api/v1/projects/${id}`, p),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/projects/${id}`),
    provisioning: (id: string) => this.request<ResponseOf<'/api/v1/projects/{id}/provisioning', 'get'>>('GET', `/api/v1/projects/${id}/provisioning`),
    /** Creates the key or rotates key and secret; the secret is in this answer only. */
    putProvisioning: (id: string, p: BodyOf<'/api/v1/projects/{id}/provisioning', 'post'> = {}) =>
      this.request<ResponseOf<'/api/v1/projects/{id}/provisioning', 'post'>>('POST', `/api/v1/projects/${id}/provisioning`, p),
    updateProvisioning: (id: string, p: BodyOf<'/api/v1/projects/{id}/provisioning', 'patch'>) =>
      this.request<ResponseOf<'/api/v1/projects/{id}/provisioning', 'patch'>>('PATCH', `/api/v1/projects/${id}/provisioning`, p),
  };

  readonly devices = {
    list: (q?: QueryOf<'/api/v1/devices', 'get'>) => this.request<DevicePage>('GET', '/api/v1/devices', undefined, q),
    get: (id: string) => this.request<Device>('GET', `/api/v1/devices/${id}`),
    create: (d: BodyOf<'/api/v1/devices', 'post'>) => this.request<CreatedDevice>('POST', '/api/v1/devices', d),
    update: (id: string, p: BodyOf<'/api/v1/devices/{id}', 'patch'>) => this.request<Device>('PATCH', `/api/v1/devices/${id}`, p),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/devices/${id}`),
    status: (id: string) => this.request<DeviceStatus>('GET', `/api/v1/devices/${id}/status`),
    retire: (id: string, reason: string) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/retire', 'post'>>('POST', `/api/v1/devices/${id}/retire`, {
        reason,
      } satisfies BodyOf<'/api/v1/devices/{id}/retire', 'post'>),
    claim: (c: BodyOf<'/api/v1/devices/claim', 'post'>) => this.request<Device>('POST', '/api/v1/devices/claim', c),
    unclaim: (id: string) => this.request<Device>('POST', `/api/v1/devices/${id}/unclaim`),
    unretire: (id: string) => this.request<ResponseOf<'/api/v1/devices/{id}/unretire', 'post'>>('POST', `/api/v1/devices/${id}/unretire`),
    rotateToken: (id: string) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/credentials/rotate', 'post'>>('POST', `/api/v1/devices/${id}/credentials/rotate`),
    latest: (id: string) => this.request<LatestTelemetry>('GET', `/api/v1/devices/${id}/telemetry/latest`),
    telemetry: (id: string, q?: QueryOf<'/api/v1/devices/{id}/telemetry', 'get'>) =>
      this.request<TelemetrySeries>('GET', `/api/v1/devices/${id}/telemetry`, undefined, q),
    messages: (id: string, q?: QueryOf<'/api/v1/devices/{id}/messages', 'get'>) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/messages', 'get'>>('GET', `/api/v1/devices/${id}/messages`, undefined, q),
    locations: (id: string, q?: QueryOf<'/api/v1/devices/{id}/locations', 'get'>) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/locations', 'get'>>('GET', `/api/v1/devices/${id}/locations`, undefined, q),
    heartbeats: (id: string, q?: QueryOf<'/api/v1/devices/{id}/heartbeats', 'get'>) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/heartbeats', 'get'>>('GET', `/api/v1/devices/${id}/heartbeats`, undefined, q),
    attributes: (id: string) => this.request<ResponseOf<'/api/v1/devices/{id}/attributes', 'get'>>('GET', `/api/v1/devices/${id}/attributes`),
    deviceToken: (id: string) =>
      this.request<ResponseOf<'/api/v1/auth/device-token', 'post'>>('POST', '/api/v1/auth/device-token', { deviceId: id } satisfies BodyOf<
        '/api/v1/auth/device-token',
        'post'
      >),
  };

  readonly alerts = {
    list: (q?: QueryOf<'/api/v1/alerts', 'get'>) => this.request<ResponseOf<'/api/v1/alerts', 'get'>>('GET', '/api/v1/alerts', undefined, q),
    /** One alert with its attachments: each named file, with the device's file once its upload has started. */
    get: (id: string) => this.request<AlertDetail>('GET', `/api/v1/alerts/${id}`),
  };

  /** Files devices uploaded; each stored file's `url` serves its bytes (with Range) and needs no other credential. */
  readonly files = {
    list: (q?: QueryOf<'/api/v1/files', 'get'>) => this.request<DeviceFilePage>('GET', '/api/v1/files', undefined, q),
    get: (id: string) => this.request<DeviceFile>('GET', `/api/v1/files/${id}`),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/files/${id}`),
    usage: () => this.request<FileUsage>('GET', '/api/v1/files/usage'),
  };

  /** Store-and-forward reports devices uploaded (issue 15). */
  readonly reports = {
    list: (q?: QueryOf<'/api/v1/reports', 'get'>) => this.request<ReportPage>('GET', '/api/v1/reports', undefined, q),
    get: (id: string) => this.request<Report>('GET', `/api/v1/reports/${id}`),
    errors: (id: string, q?: QueryOf<'/api/v1/reports/{id}/errors', 'get'>) =>
      this.request<ResponseOf<'/api/v1/reports/{id}/errors', 'get'>>('GET', `/api/v1/reports/${id}/errors`, undefined, q),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/reports/${id}`),
  };

  readonly alarmRules = {
    list: () => this.request<ResponseOf<'/api/v1/alarm-rules', 'get'>>('GET', '/api/v1/alarm-rules'),
    get: (id: string) => this.request<AlarmRule>('GET', `/api/v1/alarm-rules/${id}`),
    create: (r: BodyOf<'/api/v1/alarm-rules', 'post'>) => this.request<AlarmRule>('POST', '/api/v1/alarm-rules', r),
    update: (id: string, r: BodyOf<'/api/v1/alarm-rules/{id}', 'put'>) => this.request<AlarmRule>('PUT', `/api/v1/alarm-rules/${id}`, r),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/alarm-rules/${id}`),
    preview: (p: BodyOf<'/api/v1/alarm-rules/preview', 'post'>) =>
      this.request<ResponseOf<'/api/v1/alarm-rules/preview', 'post'>>('POST', '/api/v1/alarm-rules/preview', p),
  };

  readonly alarms = {
    list: (q?: QueryOf<'/api/v1/alarms', 'get'>) => this.request<AlarmPage>('GET', '/api/v1/alarms', undefined, q),
    counts: () => this.request<ResponseOf<'/api/v1/alarms/counts', 'get'>>('GET', '/api/v1/alarms/counts'),
    get: (id: string) => this.request<AlarmDetail>('GET', `/api/v1/alarms/${id}`),
    acknowledge: (id: string, comment?: string) => this.request<AlarmDetail>('POST', `/api/v1/alarms/${id}/acknowledge`, { comment }),
    clear: (id: string, comment?: string) => this.request<AlarmDetail>('POST', `/api/v1/alarms/${id}/clear`, { comment }),
    assign: (id: string, assigneeId: string | null, comment?: string) =>
      this.request<AlarmDetail>('POST', `/api/v1/alarms/${id}/assign`, { assigneeId, comment }),
    comment: (id: string, comment: string) => this.request<AlarmDetail>('POST', `/api/v1/alarms/${id}/comments`, { comment }),
  };

  readonly notificationTargets = {
    list: () => this.request<ResponseOf<'/api/v1/notification-targets', 'get'>>('GET', '/api/v1/notification-targets'),
    get: (id: string) => this.request<NotificationTarget>('GET', `/api/v1/notification-targets/${id}`),
    /** The answer carries a webhook's signing secret, this once. */
    create: (t: BodyOf<'/api/v1/notification-targets', 'post'>) => this.request<CreatedNotificationTarget>('POST', '/api/v1/notification-targets', t),
    update: (id: string, t: BodyOf<'/api/v1/notification-targets/{id}', 'put'>) =>
      this.request<NotificationTarget>('PUT', `/api/v1/notification-targets/${id}`, t),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/notification-targets/${id}`),
    /** Queues a test notification; the returned delivery shows how it went once sent. */
    test: (id: string) => this.request<NotificationDelivery>('POST', `/api/v1/notification-targets/${id}/test`),
  };

  readonly notificationDeliveries = {
    list: (q?: QueryOf<'/api/v1/notification-deliveries', 'get'>) =>
      this.request<NotificationDeliveryPage>('GET', '/api/v1/notification-deliveries', undefined, q),
    replay: (id: string) => this.request<NotificationDelivery>('POST', `/api/v1/notification-deliveries/${id}/replay`),
  };

  readonly templates = {
    list: () => this.request<ResponseOf<'/api/v1/templates', 'get'>>('GET', '/api/v1/templates'),
    get: (id: string) => this.request<DeviceTemplate>('GET', `/api/v1/templates/${id}`),
    create: (t: BodyOf<'/api/v1/templates', 'post'>) => this.request<DeviceTemplate>('POST', '/api/v1/templates', t),
  };

  readonly commands = {
    list: (deviceId: string, q?: QueryOf<'/api/v1/devices/{id}/commands', 'get'>) =>
      this.request<ResponseOf<'/api/v1/devices/{id}/commands', 'get'>>('GET', `/api/v1/devices/${deviceId}/commands`, undefined, q),
    send: (deviceId: string, c: BodyOf<'/api/v1/devices/{id}/commands', 'post'>, q?: QueryOf<'/api/v1/devices/{id}/commands', 'post'>) =>
      this.request<Command>('POST', `/api/v1/devices/${deviceId}/commands`, c, q),
    get: (deviceId: string, commandId: string) => this.request<Command>('GET', `/api/v1/devices/${deviceId}/commands/${commandId}`),
    cancel: (deviceId: string, commandId: string) => this.request<Command>('DELETE', `/api/v1/devices/${deviceId}/commands/${commandId}`),
  };

  readonly fleet = {
    overview: (q?: QueryOf<'/api/v1/fleet/overview', 'get'>) => this.request<FleetOverview>('GET', '/api/v1/fleet/overview', undefined, q),
  };

  /** One search over the org's devices, projects and properties, in groups, best first. */
  search(q: QueryOf<'/api/v1/search', 'get'>) {
    return this.request<SearchResults>('GET', '/api/v1/search', undefined, q);
  }

  serverInfo() {
    return this.request<ServerInfo>('GET', '/api/v1/server-info');
  }

  verifyDeviceToken(token: string) {
    return this.request<ResponseOf<'/api/v1/auth/device-verify', 'post'>>('POST', '/api/v1/auth/device-verify', { token } satisfies BodyOf<
      '/api/v1/auth/device-verify',
      'post'
    >);
  }

  /** Opens the live WebSocket; reconnects with backoff and re-subscribes. */
  live(opts: {
    WebSocket?: WebSocketLike;
    onEvent(e: LiveServerMessage): void;
    onState?(s: 'connecting' | 'open' | 'reconnecting' | 'closed'): void;
  }): LiveConnection {
    const WS = opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketLike }).WebSocket;
    if (!WS) throw new Error('no WebSocket implementation: pass one (e.g. the ws package)');
    return new LiveConnection(
      () => `${this.baseUrl.replace(/^http/, 'ws')}/api/v1/live?token=${encodeURIComponent(this.token ?? '')}`,
      WS,
      opts.onEvent,
      opts.onState,
    );
  }
}

export type WebSocketLike = new (url: string) => {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
};

export class LiveConnection {
  private ws: InstanceType<WebSocketLike> | null = null;
  private subs = new Map<string, LiveSubscribeMessage>();
  private attempt = 0;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 1;

  constructor(
    private readonly url: () => string,
    private readonly WS: WebSocketLike,
    private readonly onEvent: (e: LiveServerMessage) => void,
    private readonly onState?: (s: 'connecting' | 'open' | 'reconnecting' | 'closed') => void,
  ) {
    this.open();
  }

  private open() {
    this.onState?.(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new this.WS(this.url());
    this.ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as LiveServerMessage;
      if (msg.type === 'ready') {
        this.attempt = 0;
        this.onState?.('open');
        for (const s of this.subs.values()) ws.send(JSON.stringify(s));
      }
      this.onEvent(msg);
    };
    ws.onclose = () => {
      if (this.closed) return;
      // Exponential backoff with jitter, capped at 30 s.
      const delay = Math.min(30_000, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.onState?.('reconnecting');
      this.timer = setTimeout(() => this.open(), delay);
    };
    ws.onerror = () => {};
  }

  subscribe(s: Omit<LiveSubscribeMessage, 'type' | 'id'> & { id?: string }): string {
    const id = s.id ?? `s${this.nextId++}`;
    const msg: LiveSubscribeMessage = { type: 'subscribe', ...s, id };
    this.subs.set(id, msg);
    this.send(msg);
    return id;
  }

  unsubscribe(id: string) {
    this.subs.delete(id);
    this.send({ type: 'unsubscribe', id });
  }

  private send(msg: LiveClientMessage) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.onState?.('closed');
  }
}
