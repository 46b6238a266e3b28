/**
 * Issue 14, firmware artifacts through the real server: a 200 MB artifact
 * streamed up while the server's memory is watched, downloads whole and by
 * Range (resume), signed links a device uses without its token, and the bad
 * uploads that must keep nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
let templateId: string;

const api = (method: string, p: string, body?: unknown, token = s.api.token!) =>
  httpJson(`${s.httpUrl}${p}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) });

/** `mb` megabytes of a pattern that differs per megabyte, as a stream, and the sha256 it will have. */
function artifact(mb: number, seed = 1): { stream: () => Readable; sha256: string; size: number } {
  const chunk = (i: number) => {
    const b = Buffer.alloc(1024 * 1024);
    for (let k = 0; k < b.length; k += 4) b.writeUInt32LE((i * 2654435761 + k * seed) >>> 0, k);
    return b;
  };
  const hash = createHash('sha256');
  for (let i = 0; i < mb; i++) hash.update(chunk(i));
  return {
    stream: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < mb; i++) yield chunk(i);
        })(),
      ),
    sha256: hash.digest('hex'),
    size: mb * 1024 * 1024,
  };
}

/** PUTs a body stream with node:http (streamed, with the length declared). */
function upload(
  id: string,
  body: Readable,
  size: number,
  token = s.api.token!,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${s.httpUrl}/api/v1/firmware/${id}/artifact`,
      { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': size } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
}

async function describeFirmware(version: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api('POST', '/api/v1/firmware', { templateId, version, releaseNotes: `notes of ${version}`, ...extra });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** Files under the data dir's firmware folder (stored artifacts and leftovers of failed uploads). */
function storedFiles(): string[] {
  const root = path.join(s.config.dataDir, 'files', 'firmware');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile());
}

const sha256Of = async (res: Response) =>
  createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex');

beforeAll(async () => {
  s = await startServer();
  const t = await api('POST', '/api/v1/templates', { name: 'Boiler' });
  templateId = t.body.id as string;
});

afterAll(async () => {
  await s?.close();
});

describe('firmware artifacts', () => {
  const big = artifact(200);
  let bigId: string;

  it('streams a 200 MB upload to the storage without holding it in memory; size and sha256 are computed', async () => {
    bigId = await describeFirmware('2.0.0', { sha256: big.sha256 });
    const before = await api('GET', `/api/v1/firmware/${bigId}`);
    expect(before.body).toMatchObject({ uploaded: false, size: null, sha256: null, declaredSha256: big.sha256 });

    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const r = await upload(bigId, big.stream(), big.size);
    clearInterval(sampler);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: bigId, uploaded: true, size: big.size, sha256: big.sha256, version: '2.0.0' });
    // Client and server share this process: a buffered upload would add 200 MB or more.
    expect(peak - baseline, `RSS grew by ${Math.round((peak - baseline) / 1e6)} MB`).toBeLessThan(100 * 1024 * 1024);
    expect(storedFiles()).toHaveLength(1);
  }, 120_000);

  it('downloads whole, and by Range to resume; If-Range with another ETag gets the whole file', async () => {
    const whole = await fetch(`${s.httpUrl}/api/v1/firmware/${bigId}/artifact`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(big.size));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('x-checksum-sha256')).toBe(big.sha256);
    expect(await sha256Of(whole)).toBe(big.sha256);

    // A download cut at 75 MB, resumed from there: the two parts make the artifact.
    const cut = 75 * 1024 * 1024 + 17;
    const head = await fetch(`${s.httpUrl}/api/v1/firmware/${bigId}/artifact`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: `bytes=0-${cut - 1}` },
    });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-${cut - 1}/${big.size}`);
    const etag = head.headers.get('etag')!;
    const rest = await fetch(`${s.httpUrl}/api/v1/firmware/${bigId}/artifact`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: `bytes=${cut}-`, 'if-range': etag },
    });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${cut}-${big.size - 1}/${big.size}`);
    const joined = createHash('sha256')
      .update(Buffer.from(await head.arrayBuffer()))
      .update(Buffer.from(await rest.arrayBuffer()))
      .digest('hex');
    expect(joined).toBe(big.sha256);

    const changed = await fetch(`${s.httpUrl}/api/v1/firmware/${bigId}/artifact`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: 'bytes=10-', 'if-range': '"not-this-artifact"' },
    });
    expect(changed.status).toBe(200);
    await changed.body?.cancel();

    const past = await fetch(`${s.httpUrl}/api/v1/firmware/${bigId}/artifact`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: `bytes=${big.size}-` },
    });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${big.size}`);
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
  }, 60_000);

  it('a signed link downloads without any other credential, for that firmware only, until it expires', async () => {
    const link = await api('POST', `/api/v1/firmware/${bigId}/download-link`, { ttlSeconds: 600 });
    expect(link.status).toBe(200);
    const url = link.body.url as string;
    expect(url).toMatch(new RegExp(`^/api/v1/firmware-downloads/${bigId}\\?token=`));
    const ranged = await fetch(`${s.httpUrl}${url}`, { headers: { range: 'bytes=0-1023' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(1024);

    const otherId = await describeFirmware('2.0.1');
    const small = artifact(1, 7);
    expect((await upload(otherId, small.stream(), small.size)).status).toBe(200);
    const token = new URL(url, s.httpUrl).searchParams.get('token')!;
    const refused = async (u: string) => {
      const r = await fetch(`${s.httpUrl}${u}`);
      return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
    };
    // The link names its firmware: not another one.
    expect(await refused(`/api/v1/firmware-downloads/${otherId}?token=${token}`)).toEqual({ status: 403, code: 'DOWNLOAD_LINK_INVALID' });
    expect(await refused(`/api/v1/firmware-downloads/${bigId}?token=${token.slice(0, -2)}xx`)).toEqual({ status: 403, code: 'DOWNLOAD_LINK_INVALID' });
    // A user's access token is not a download link.
    expect(await refused(`/api/v1/firmware-downloads/${bigId}?token=${s.api.token}`)).toEqual({ status: 403, code: 'DOWNLOAD_LINK_INVALID' });
    const short = await s.tether.firmware.link(otherId, 1);
    const ok = await fetch(`${s.httpUrl}${short.url}`);
    expect(ok.status).toBe(200);
    expect(await sha256Of(ok)).toBe(small.sha256);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await refused(short.url)).toEqual({ status: 403, code: 'DOWNLOAD_LINK_EXPIRED' });
  }, 30_000);

  it('refuses a checksum mismatch, a cut-off upload and a second upload, keeping nothing', async () => {
    const files = storedFiles().length;
    const wrong = artifact(3, 3);
    const id = await describeFirmware('3.0.0', { sha256: 'a'.repeat(64) });
    const r = await upload(id, wrong.stream(), wrong.size);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('FIRMWARE_CHECKSUM_MISMATCH');
    expect((await api('GET', `/api/v1/firmware/${id}`)).body).toMatchObject({ uploaded: false, sha256: null });
    expect(storedFiles()).toHaveLength(files);

    // 10 MB declared, 4 MB sent, then the connection drops.
    const cut = await describeFirmware('3.0.1');
    await new Promise<void>((resolve) => {
      const req = http.request(`${s.httpUrl}/api/v1/firmware/${cut}/artifact`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'application/octet-stream', 'content-length': 10 * 1024 * 1024 },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(4 * 1024 * 1024, 1), () => setTimeout(() => req.destroy(), 200));
      req.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await api('GET', `/api/v1/firmware/${cut}`)).body).toMatchObject({ uploaded: false });
    expect(storedFiles()).toHaveLength(files);
    // The same firmware uploads fine afterwards.
    const good = artifact(2, 5);
    expect((await upload(cut, good.stream(), good.size)).status).toBe(200);
    const again = await upload(cut, good.stream(), good.size);
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('FIRMWARE_ALREADY_UPLOADED');
    expect(storedFiles()).toHaveLength(files + 1);
  }, 60_000);

  it('refuses bad descriptions with stable codes', async () => {
    expect((await api('POST', '/api/v1/firmware', { templateId, version: '2.0.0' })).body.error?.code).toBe('FIRMWARE_VERSION_TAKEN');
    expect((await api('POST', '/api/v1/firmware', { templateId: randomUUID(), version: '9.0.0' })).body.error?.code).toBe('TEMPLATE_NOT_FOUND');
    expect((await api('POST', '/api/v1/firmware', { templateId, version: 'two point oh' })).status).toBe(400);
    expect((await api('POST', '/api/v1/firmware', { templateId, version: '9.0.1', sha256: 'xyz' })).status).toBe(400);
    const notYet = await describeFirmware('9.0.2');
    expect((await api('POST', `/api/v1/firmware/${notYet}/download-link`, {})).body.error?.code).toBe('FIRMWARE_NOT_UPLOADED');
    const json = await api('PUT', `/api/v1/firmware/${notYet}/artifact`, { not: 'bytes' });
    expect(json.status).toBe(415);
  });

  it('a viewer reads firmware but cannot describe or upload it; deleting removes the artifact', async () => {
    await s.api.users.create({ email: 'viewer@fw.test', password: 'viewer-password-1', name: 'Viewer', role: 'viewer' });
    const viewer = await httpJson(`${s.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ email: 'viewer@fw.test', password: 'viewer-password-1' }),
    });
    const token = viewer.body.accessToken as string;
    expect((await api('GET', '/api/v1/firmware', undefined, token)).body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: bigId, version: '2.0.0' })]),
    );
    expect((await api('POST', '/api/v1/firmware', { templateId, version: '5.0.0' }, token)).status).toBe(403);
    const id = await describeFirmware('5.0.0');
    const one = artifact(1, 9);
    expect((await upload(id, one.stream(), one.size, token)).status).toBe(403);
    expect((await upload(id, one.stream(), one.size)).status).toBe(200);
    const files = storedFiles().length;
    expect((await api('DELETE', `/api/v1/firmware/${id}`)).status).toBe(204);
    expect(storedFiles()).toHaveLength(files - 1);
    expect((await api('GET', `/api/v1/firmware/${id}`)).body.error?.code).toBe('FIRMWARE_NOT_FOUND');
  }, 30_000);
});
