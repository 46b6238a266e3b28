import { ApiError, TetherClient, type ClientOptions, type Session } from '@tether/api-client';

export interface UploadProgress {
  /** Bytes sent so far. */
  loaded: number;
  total: number;
}

export interface UploadOptions {
  onProgress?(p: UploadProgress): void;
  signal?: AbortSignal;
}

/** An upload stopped by its AbortSignal. */
export class UploadAborted extends Error {
  constructor() {
    super('The upload was cancelled.');
    this.name = 'UploadAborted';
  }
}

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

  private readonly newXhr: () => XMLHttpRequest;

  constructor(opts: ClientOptions & { xhr?: () => XMLHttpRequest }) {
    super(opts);
    this.origin = opts.baseUrl.replace(/\/$/, '');
    this.fetchRaw = opts.fetch ?? fetch.bind(globalThis);
    this.newXhr = opts.xhr ?? (() => new XMLHttpRequest());
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

  /**
   * PUTs a file as the raw body (application/octet-stream) and returns the JSON
   * answer. XMLHttpRequest, because fetch reports no upload progress; the browser
   * streams the file from disk, so it is never read into memory here. Signed,
   * refreshed once and failed like every other request.
   */
  upload<T>(path: string, file: Blob, opts: UploadOptions = {}, retried = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new UploadAborted());
      const xhr = this.newXhr();
      const onAbort = () => xhr.abort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => opts.signal?.removeEventListener('abort', onAbort);
      xhr.open('PUT', `${this.origin}${path}`);
      if (this.token) xhr.setRequestHeader('authorization', `Bearer ${this.token}`);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
      xhr.onabort = () => {
        settle();
        reject(new UploadAborted());
      };
      // As fetch does: a network failure is a TypeError, which the error views word as "cannot reach the server".
      xhr.onerror = () => {
        settle();
        reject(new TypeError('upload failed: network error'));
      };
      xhr.onload = () => {
        settle();
        let data: { error?: { code: string; message: string } } = {};
        try {
          data = xhr.responseText ? (JSON.parse(xhr.responseText) as typeof data) : {};
        } catch {
          // Not JSON (a proxy's error page): the status says enough.
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(data as T);
        if (xhr.status === 401 && data.error?.code === 'TOKEN_EXPIRED' && this.refreshToken && !retried) {
          this.refresh().then(() => resolve(this.upload<T>(path, file, opts, true)), reject);
          return;
        }
        if (xhr.status === 401) this.onSessionLost?.();
        reject(new ApiError(xhr.status, data.error?.code ?? 'HTTP_ERROR', data.error?.message ?? `HTTP ${xhr.status}`));
      };
      xhr.send(file);
    });
  }
}
