import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '@tether/api-client';
import { DashboardClient, UploadAborted } from './dashboard-client';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const session = (n: number) => ({
  accessToken: `at${n}`,
  refreshToken: `rt${n}`,
  expiresIn: 900,
  user: { id: 'u', email: 'a@b.c', name: '', role: 'admin', disabled: false, createdAt: '' },
  org: { id: 'o', name: 'org' },
});

describe('DashboardClient', () => {
  it('shares one refresh among requests that all meet an expired token', async () => {
    const refreshes: string[] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      const u = String(url);
      if (u.endsWith('/auth/refresh')) {
        const { refreshToken } = JSON.parse(String(init!.body)) as { refreshToken: string };
        refreshes.push(refreshToken);
        await new Promise((r) => setTimeout(r, 10));
        // A refresh token works once.
        return refreshToken === 'rt0' && refreshes.length === 1 ? json(200, session(1)) : json(401, { error: { code: 'UNAUTHORIZED', message: 'used' } });
      }
      const auth = (init!.headers as Record<string, string>).authorization;
      return auth === 'Bearer at1' ? json(200, { ok: u }) : json(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } });
    });
    const onTokens = vi.fn();
    const client = new DashboardClient({ baseUrl: 'http://t', token: 'at0', refreshToken: 'rt0', fetch, onTokens });
    const lost = vi.fn();
    client.onSessionLost = lost;

    const results = await Promise.all([client.request('GET', '/api/v1/a'), client.request('GET', '/api/v1/b'), client.request('GET', '/api/v1/c')]);
    expect(results).toEqual([{ ok: 'http://t/api/v1/a' }, { ok: 'http://t/api/v1/b' }, { ok: 'http://t/api/v1/c' }]);
    expect(refreshes).toEqual(['rt0']);
    expect(onTokens).toHaveBeenCalledTimes(1);
    expect(lost).not.toHaveBeenCalled();
  });

  it('reports a lost session when the refresh fails, but not for a wrong password', async () => {
    const fetch = vi.fn(async (url: string | URL | Request) => {
      const u = String(url);
      if (u.endsWith('/auth/login')) return json(401, { error: { code: 'INVALID_CREDENTIALS', message: 'wrong' } });
      if (u.endsWith('/auth/refresh')) return json(401, { error: { code: 'UNAUTHORIZED', message: 'revoked' } });
      return json(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } });
    });
    const client = new DashboardClient({ baseUrl: 'http://t', token: 'at0', refreshToken: 'rt0', fetch });
    const lost = vi.fn();
    client.onSessionLost = lost;

    await expect(client.login('a@b.c', 'nope')).rejects.toBeInstanceOf(ApiError);
    expect(lost).not.toHaveBeenCalled();
    await expect(client.request('GET', '/api/v1/devices')).rejects.toMatchObject({ status: 401 });
    expect(lost).toHaveBeenCalled();
  });

  it('sends and fetches binary bodies with the token, refreshing it once when expired', async () => {
    const seen: { url: string; auth: string; type: string | undefined }[] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      const u = String(url);
      if (u.endsWith('/auth/refresh')) return json(200, session(1));
      const headers = init!.headers as Record<string, string>;
      seen.push({ url: u, auth: headers.authorization!, type: headers['content-type'] });
      if (headers.authorization !== 'Bearer at1') return json(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } });
      if (init!.method === 'PUT' && (init!.body as Blob).size > 4) return json(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } });
      return new Response(init!.method === 'PUT' ? null : new Uint8Array([137, 80]), {
        status: init!.method === 'PUT' ? 204 : 200,
        headers: { 'content-type': 'image/png' },
      });
    });
    const client = new DashboardClient({ baseUrl: 'http://t/', token: 'at0', refreshToken: 'rt0', fetch });

    const got = await client.binary('GET', '/api/v1/devices/d/photo');
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(seen.map((s) => s.auth)).toEqual(['Bearer at0', 'Bearer at1']);
    expect(seen[0]!.url).toBe('http://t/api/v1/devices/d/photo');

    await client.binary('PUT', '/api/v1/devices/d/photo', new Blob([new Uint8Array([1, 2])], { type: 'image/webp' }));
    expect(seen.at(-1)!.type).toBe('image/webp');
    await expect(client.binary('PUT', '/api/v1/devices/d/photo', new Blob([new Uint8Array(8)], { type: 'image/png' }))).rejects.toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('uploads a file with XMLHttpRequest, reporting progress, refreshing an expired token once and failing with the server’s error', async () => {
    /** Answers each send from `answer`, after two progress events. */
    class FakeXhr {
      static sent: { url: string; headers: Record<string, string>; body: unknown }[] = [];
      static answer: (auth: string) => [number, unknown] = () => [200, {}];
      upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      status = 0;
      responseText = '';
      private url = '';
      private headers: Record<string, string> = {};
      open(_method: string, url: string) {
        this.url = url;
      }
      setRequestHeader(k: string, v: string) {
        this.headers[k] = v;
      }
      send(body: Blob) {
        FakeXhr.sent.push({ url: this.url, headers: this.headers, body });
        setTimeout(() => {
          if (this.aborted) return;
          this.upload.onprogress?.({ loaded: 2, total: 4, lengthComputable: true });
          this.upload.onprogress?.({ loaded: 4, total: 4, lengthComputable: true });
          const [status, data] = FakeXhr.answer(this.headers.authorization ?? '');
          this.status = status;
          this.responseText = JSON.stringify(data);
          this.onload?.();
        }, 1);
      }
      private aborted = false;
      abort() {
        this.aborted = true;
        setTimeout(() => this.onabort?.(), 0);
      }
    }
    const fetch = vi.fn(async () => json(200, session(1)));
    const client = new DashboardClient({
      baseUrl: 'http://t',
      token: 'at0',
      refreshToken: 'rt0',
      fetch,
      xhr: () => new FakeXhr() as unknown as XMLHttpRequest,
    });
    const file = new Blob([new Uint8Array([1, 2, 3, 4])]);

    FakeXhr.answer = (auth) => (auth === 'Bearer at1' ? [200, { id: 'fw', uploaded: true }] : [401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } }]);
    const progress: number[] = [];
    await expect(client.upload('/api/v1/firmware/fw/artifact', file, { onProgress: (p) => progress.push(p.loaded) })).resolves.toEqual({
      id: 'fw',
      uploaded: true,
    });
    expect(FakeXhr.sent.map((s) => [s.url, s.headers.authorization, s.headers['content-type']])).toEqual([
      ['http://t/api/v1/firmware/fw/artifact', 'Bearer at0', 'application/octet-stream'],
      ['http://t/api/v1/firmware/fw/artifact', 'Bearer at1', 'application/octet-stream'],
    ]);
    // The browser sends the Blob itself: it is never read here.
    expect(FakeXhr.sent[1]!.body).toBe(file);
    expect(progress).toEqual([2, 4, 2, 4]);

    FakeXhr.answer = () => [400, { error: { code: 'FIRMWARE_CHECKSUM_MISMATCH', message: 'the bytes hash to a, not the declared b' } }];
    await expect(client.upload('/api/v1/firmware/fw/artifact', file)).rejects.toMatchObject({ status: 400, code: 'FIRMWARE_CHECKSUM_MISMATCH' });

    const stop = new AbortController();
    const pending = client.upload('/api/v1/firmware/fw/artifact', file, { signal: stop.signal });
    stop.abort();
    await expect(pending).rejects.toBeInstanceOf(UploadAborted);
  });
});
