/**
 * Typed client for Tether's REST API and live WebSocket. Works in Node 20+
 * and browsers; pass a WebSocket implementation where there is no global one.
 */
import type { LiveClientMessage, LiveServerMessage, LiveSubscribeMessage } from '@tether/contracts';

export type Role = 'owner' | 'admin' | 'operator' | 'viewer';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
}
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
  org: { id: string; name: string };
}
export interface DeviceStatus {
  online: boolean;
  active: boolean;
  lastSeenAt: string | null;
  firstSeenAt: string | null;
  lastConnectedAt: string | null;
  lastDisconnectedAt: string | null;
  inactivityTimeoutS: number;
}
export interface Device {
  id: string;
  orgId: string;
  projectId: string | null;
  name: string;
  type: string;
  tags: string[];
  metadata: Record<string, unknown>;
  firmwareVersion: string | null;
  templateId: string | null;
  photoUrl: string | null;
  inactivityTimeoutS: number | null;
  status: DeviceStatus;
  location: { lat: number; lon: number; at: string } | null;
  createdAt: string;
  updatedAt: string;
}
export interface Project {
  id: string;
  name: string;
  description: string;
  inactivityTimeoutS: number | null;
  deviceCount: number;
  createdAt: string;
  updatedAt: string;
}
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
export interface Alert {
  id: string;
  deviceId: string;
  deviceName: string;
  projectId: string | null;
  type: string | null;
  severity: string;
  message: string;
  data: unknown;
  ts: string;
  receivedAt: string;
}
export interface TelemetrySeries {
  deviceId: string;
  from: string;
  to: string;
  interval: number | null;
  agg: string | null;
  series: Record<string, { ts: string; value: unknown }[]>;
  /** Raw answers only: keys capped at `limit`, each with the cursor (`before`) for its older points. */
  truncated?: Record<string, { before: string; limit: number }>;
}

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

type Query = Record<string, string | number | boolean | undefined | null>;

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
        Object.entries(query)
          .filter(([, v]) => v !== undefined && v !== null && v !== '')
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetchImpl(`${this.baseUrl}${path}${qs === '?' ? '' : qs}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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
    const s = await this.request<Session>('POST', '/api/v1/auth/login', { email, password, orgId });
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
    return this.request<User & { orgId: string; orgs: { id: string; name: string; role: Role }[] }>('GET', '/api/v1/users/me');
  }

  readonly users = {
    list: (q?: { limit?: number; offset?: number }) => this.request<Page<User>>('GET', '/api/v1/users', undefined, q),
    get: (id: string) => this.request<User>('GET', `/api/v1/users/${id}`),
    create: (u: { email: string; password: string; name?: string; role?: Role }) => this.request<User>('POST', '/api/v1/users', u),
    update: (id: string, p: { name?: string; password?: string; role?: Role; disabled?: boolean }) => this.request<User>('PUT', `/api/v1/users/${id}`, p),
  };

  readonly orgs = {
    list: () => this.request<{ items: { id: string; name: string; role: Role }[] }>('GET', '/api/v1/orgs'),
    create: (name: string) => this.request<{ id: string; name: string; role: Role }>('POST', '/api/v1/orgs', { name }),
  };

  readonly apiKeys = {
    list: () => this.request<{ items: { id: string; name: string; role: Role; prefix: string; revokedAt: string | null }[] }>('GET', '/api/v1/api-keys'),
    create: (k: { name: string; role?: Exclude<Role, 'owner'> }) => this.request<{ id: string; key: string; name: string; role: Role }>('POST', '/api/v1/api-keys', k),
    revoke: (id: string) => this.request<void>('DELETE', `/api/v1/api-keys/${id}`),
  };

  readonly projects = {
    list: (q?: { limit?: number; offset?: number }) => this.request<Page<Project>>('GET', '/api/v1/projects', undefined, q),
    get: (id: string) => this.request<Project>('GET', `/api/v1/projects/${id}`),
    create: (p: { name: string; description?: string; inactivityTimeoutS?: number | null }) => this.request<Project>('POST', '/api/v1/projects', p),
    update: (id: string, p: { name?: string; description?: string; inactivityTimeoutS?: number | null }) => this.request<Project>('PATCH', `/api/v1/projects/${id}`, p),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/projects/${id}`),
  };

  readonly devices = {
    list: (q?: { projectId?: string; tag?: string; online?: boolean; q?: string; limit?: number; offset?: number }) => this.request<Page<Device>>('GET', '/api/v1/devices', undefined, q),
    get: (id: string) => this.request<Device>('GET', `/api/v1/devices/${id}`),
    create: (d: { name: string; projectId?: string | null; templateId?: string | null; type?: string; tags?: string[]; metadata?: Record<string, unknown>; inactivityTimeoutS?: number | null }) =>
      this.request<Device & { token: string }>('POST', '/api/v1/devices', d),
    update: (id: string, p: { name?: string; projectId?: string | null; type?: string; tags?: string[]; metadata?: Record<string, unknown>; inactivityTimeoutS?: number | null }) =>
      this.request<Device>('PATCH', `/api/v1/devices/${id}`, p),
    delete: (id: string) => this.request<void>('DELETE', `/api/v1/devices/${id}`),
    status: (id: string) => this.request<DeviceStatus>('GET', `/api/v1/devices/${id}/status`),
    rotateToken: (id: string) => this.request<{ deviceId: string; token: string }>('POST', `/api/v1/devices/${id}/credentials/rotate`),
    latest: (id: string) => this.request<{ deviceId: string; values: Record<string, { ts: string; value: unknown }> }>('GET', `/api/v1/devices/${id}/telemetry/latest`),
    telemetry: (id: string, q?: { keys?: string; from?: string; to?: string; interval?: string; agg?: string; limit?: number; before?: string }) =>
      this.request<TelemetrySeries>('GET', `/api/v1/devices/${id}/telemetry`, undefined, q),
    messages: (id: string, q?: { from?: string; to?: string; channel?: string; limit?: number }) =>
      this.request<{ deviceId: string; items: { receivedAt: string; channel: string; transport: string; payload: unknown }[] }>('GET', `/api/v1/devices/${id}/messages`, undefined, q),
    locations: (id: string, q?: { from?: string; to?: string; limit?: number }) =>
      this.request<{ deviceId: string; items: { ts: string; lat: number; lon: number }[] }>('GET', `/api/v1/devices/${id}/locations`, undefined, q),
    attributes: (id: string) => this.request<{ deviceId: string; reported: Record<string, { value: unknown; updatedAt: string }> }>('GET', `/api/v1/devices/${id}/attributes`),
    deviceToken: (id: string) => this.request<{ token: string; deviceId: string; expiresAt: string }>('POST', '/api/v1/auth/device-token', { deviceId: id }),
  };

  readonly alerts = {
    list: (q?: { deviceId?: string; projectId?: string; type?: string; severity?: string; from?: string; to?: string; limit?: number; offset?: number }) =>
      this.request<Page<Alert>>('GET', '/api/v1/alerts', undefined, q),
  };

  verifyDeviceToken(token: string) {
    return this.request<{ valid: boolean; deviceId: string | null; expiresAt: string | null }>('POST', '/api/v1/auth/device-verify', { token });
  }

  /** Opens the live WebSocket; reconnects with backoff and re-subscribes. */
  live(opts: { WebSocket?: WebSocketLike; onEvent(e: LiveServerMessage): void; onState?(s: 'connecting' | 'open' | 'reconnecting' | 'closed'): void }): LiveConnection {
    const WS = opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketLike }).WebSocket;
    if (!WS) throw new Error('no WebSocket implementation: pass one (e.g. the ws package)');
    return new LiveConnection(() => `${this.baseUrl.replace(/^http/, 'ws')}/api/v1/live?token=${encodeURIComponent(this.token ?? '')}`, WS, opts.onEvent, opts.onState);
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
