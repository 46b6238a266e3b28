import { ApiError, TetherClient, type ClientOptions, type Session } from '@tether/api-client';

/**
 * The API client as the dashboard uses it: concurrent requests that all meet an
 * expired token share one refresh (a refresh token works only once), and a 401
 * that survives the refresh ends the session.
 */
export class DashboardClient extends TetherClient {
  onSessionLost: (() => void) | null = null;
  private refreshing: Promise<Session> | null = null;
  private readonly origin: string;
  private readonly fetchRaw: typeof fetch;

  constructor(opts: ClientOptions) {
    super(opts);
    this.origin = opts.baseUrl.replace(/\/$/, '');
    this.fetchRaw = opts.fetch ?? fetch.bind(globalThis);
  }

  override refresh(): Promise<Session> {
    this.refreshing ??= super.refresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  override async request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Record<string, string | number | boolean | undefined | null>,
    retried = false,
  ): Promise<T> {
    try {
      return await super.request<T>(method, path, body, query, retried);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && path !== '/api/v1/auth/login') this.onSessionLost?.();
      throw e;
    }
  }

  /**
   * A request whose body or answer is not JSON (device photos), signed like
   * every other: the answer is returned as it is, an error status as an ApiError.
   */
  async binary(method: 'GET' | 'PUT', path: string, body?: Blob, retried = false): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body) headers['content-type'] = body.type;
    const res = await this.fetchRaw(`${this.origin}${path}`, { method, headers, body });
    if (res.ok) return res;
    const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (res.status === 401 && data.error?.code === 'TOKEN_EXPIRED' && this.refreshToken && !retried) {
      await this.refresh();
      return this.binary(method, path, body, true);
    }
    if (res.status === 401) this.onSessionLost?.();
    throw new ApiError(res.status, data.error?.code ?? 'HTTP_ERROR', data.error?.message ?? `HTTP ${res.status}`);
  }
}
