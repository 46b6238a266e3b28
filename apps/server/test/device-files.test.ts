/**
 * Issue 15: device files through the real server and a real tus client (tus-js-client):
 * a 300 MB upload cut off at 40% and resumed, bytes typed from their content, the org's
 * quota before any byte is stored, another device's upload, path-traversal names, Range
 * downloads through the signed url, alerts naming files that attach as they arrive,
 * deletion (audited), retention. On local disk here; on S3 in device-files-s3.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';
import { MP4_HEAD, PNG, tusCreate, tusPatch, tusUpload } from './tus-helpers.js';

const ELF = Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), randomBytes(2000)]);

describe('device files on local disk', () => {
  let s: TestServer;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  // Answers are checked against their route's schema by the server (checkResponses); here they are read loosely.
  const api = async (method: string, p: string, body?: unknown, token = s.api.token!) => {
    const res = await httpJson(`${s.httpUrl}${p}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return res as { status: number; body: any };
  };
  let tmp: string;

  beforeAll(async () => {
    s = await startServer({ TETHER_FILE_QUOTA_BYTES: String(400 * 1024 * 1024) });
    a = (await api('POST', '/api/v1/devices', { name: 'truck-a' })).body as { id: string; token: string };
    b = (await api('POST', '/api/v1/devices', { name: 'truck-b' })).body as { id: string; token: string };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-files-'));
  });
  afterAll(async () => {
    await s?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('resumes a 300 MB video cut off at 40%, from where it stopped, and serves it back whole and by range', async () => {
    const size = 300 * 1024 * 1024;
    const file = path.join(tmp, 'front.mp4');
    const block = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    const out = fs.openSync(file, 'w');
    for (let i = 0; i < 300; i++) {
      const chunk = i === 0 ? Buffer.concat([MP4_HEAD, block.subarray(MP4_HEAD.length)]) : block;
      chunk.writeUInt32BE(i, chunk.length - 4);
      hash.update(chunk);
      fs.writeSync(out, chunk);
    }
    fs.closeSync(out);
    const sha256 = hash.digest('hex');

    // First attempt: the connection drops (the client aborts its PATCH mid-body) at 40%.
    const patchOffsets: number[] = [];
    const recordPatches = (req: tus.HttpRequest) => {
      if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
    };
    let cutAt = 0;
    const cut = new Promise<tus.Upload>((resolve) => {
      const first = tusUpload(
        s.httpUrl,
        a.token,
        fs.createReadStream(file),
        { filename: 'front.mp4', filetype: 'video/mp4' },
        {
          size,
          onBeforeRequest: recordPatches,
          onProgress: (sent, _total, u) => {
            if (!cutAt && sent >= size * 0.4) {
              cutAt = sent;
              void u.abort().then(() => resolve(u));
            }
          },
        },
      );
      first.done.catch(() => undefined);
    });
    const url = (await cut).url!;
    expect(url).toMatch(/\/api\/v1\/device\/files\/uploads\/[0-9a-f-]{36}$/);

    // The server kept what arrived: HEAD says how much (bytes still in flight when the connection dropped may follow).
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${a.token}` } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(size * 0.3);
    expect(offset).toBeLessThan(size);
    const listed = await api('GET', `/api/v1/files?deviceId=${a.id}`);
    expect(listed.body.items).toMatchObject([{ name: 'front.mp4', state: 'uploading', size, url: null }]);

    // Another device cannot see, resume or abandon it.
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const other = await fetch(url, {
        method,
        headers: {
          'tus-resumable': '1.0.0',
          authorization: `Bearer ${b.token}`,
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
        },
        body: method === 'PATCH' ? Buffer.from('evil') : undefined,
      });
      expect(other.status, method).toBe(404);
      if (method !== 'HEAD') expect(((await other.json()) as { error: { code: string } }).error.code).toBe('FILE_NOT_FOUND');
    }

    // Second attempt: the device resumes the same upload (HEAD, then PATCH from the server's offset), not from zero.
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(fs.createReadStream(file), {
        uploadUrl: url,
        uploadSize: size,
        headers: { authorization: `Bearer ${a.token}` },
        retryDelays: [200, 500, 1000, 2000],
        onBeforeRequest: recordPatches,
        onSuccess: () => resolve(),
        onError: reject,
      }).start();
    });
    expect(patchOffsets[0]).toBe(0);
    expect(patchOffsets[1]).toBeGreaterThanOrEqual(offset);
    expect(patchOffsets[1]).toBeLessThanOrEqual(cutAt);

    const files = await api('GET', `/api/v1/files?deviceId=${a.id}`);
    const f = files.body.items[0] as { id: string; state: string; contentType: string; size: number; url: string; path: string };
    expect(f).toMatchObject({ state: 'stored', contentType: 'video/mp4', size, path: `${a.id}/front.mp4` });
    const whole = await fetch(`${s.httpUrl}/api/v1/files/${f.id}/content`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    const got = createHash('sha256');
    for await (const c of whole.body!) got.update(c);
    expect(got.digest('hex')).toBe(sha256);
    // The signed url (what a <video> element gets) seeks without a bearer token.
    const seek = await fetch(`${s.httpUrl}${f.url}`, { headers: { range: `bytes=${150 * 1024 * 1024 - 4}-${150 * 1024 * 1024 - 1}` } });
    expect(seek.status).toBe(206);
    expect(seek.headers.get('content-range')).toBe(`bytes ${150 * 1024 * 1024 - 4}-${150 * 1024 * 1024 - 1}/${size}`);
    expect(Buffer.from(await seek.arrayBuffer()).readUInt32BE(0)).toBe(149);
    // By its place in the device's folder.
    const byPath = await fetch(`${s.httpUrl}/api/v1/devices/${a.id}/files/front.mp4`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: 'bytes=0-7' },
    });
    expect([byPath.status, Buffer.from(await byPath.arrayBuffer()).toString('hex')]).toEqual([206, MP4_HEAD.subarray(0, 8).toString('hex')]);
    const bad = await fetch(`${s.httpUrl}${f.url.replace(/token=.{8}/, 'token=xxxxxxxx')}`);
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([403, 'FILE_LINK_INVALID']);
    // A stored name is not uploaded over.
    const dup = await tusCreate(s.httpUrl, a.token, 10, { filename: 'front.mp4' });
    expect([dup.status, dup.body?.error?.code]).toEqual([409, 'FILE_EXISTS']);
  }, 180_000);

  it('types files from their bytes, not the declared type', async () => {
    const up = (name: string, bytes: Buffer, filetype?: string) =>
      tusUpload(s.httpUrl, a.token, bytes, { filename: name, ...(filetype ? { filetype } : {}) }).done.then(
        () => 'stored',
        (err: tus.DetailedError) => `${err.originalResponse?.getStatus()} ${err.originalResponse?.getBody()}`,
      );
    expect(await up('cab.png', PNG, 'image/png')).toBe('stored');
    expect(await up('clip.bin', Buffer.concat([MP4_HEAD, randomBytes(100)]), 'application/octet-stream')).toBe('stored');
    expect(await up('engine.log', Buffer.from('2026-12-07 boot ok\nbrake pressure 4.1 bar\n'))).toBe('stored');
    expect(await up('fake.mp4', ELF, 'video/mp4')).toMatch(/^415 .*FILE_TYPE_MISMATCH/);
    expect(await up('noise.jpg', randomBytes(5000), 'image/jpeg')).toMatch(/^415 .*FILE_TYPE_MISMATCH/);
    const files = (await api('GET', `/api/v1/files?deviceId=${a.id}&state=stored`)).body.items as { name: string; contentType: string }[];
    const types = Object.fromEntries(files.map((f) => [f.name, f.contentType]));
    expect(types).toMatchObject({ 'cab.png': 'image/png', 'clip.bin': 'video/mp4', 'engine.log': 'text/plain' });
    expect(types['fake.mp4']).toBeUndefined();
    expect(types['noise.jpg']).toBeUndefined();
    // A refused upload left no reservation behind: the name is free again.
    expect(await up('fake.mp4', Buffer.concat([MP4_HEAD, randomBytes(10)]), 'video/mp4')).toBe('stored');
    // Media plays inline; other files download, never sniffed by the browser.
    const log = files.find((f) => f.name === 'engine.log') as unknown as { url: string };
    const res = await fetch(`${s.httpUrl}${log.url}`);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="engine.log"');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses bad uploads with stable codes and keeps what was stored', async () => {
    const before = (await api('GET', '/api/v1/files/usage')).body as { usedBytes: number; quotaBytes: number };
    const cases: [string, Awaited<ReturnType<typeof tusCreate>>, number, string][] = [
      ['over quota', await tusCreate(s.httpUrl, a.token, 200 * 1024 * 1024, { filename: 'huge.mp4' }), 413, 'FILE_QUOTA_EXCEEDED'],
      ['traversal', await tusCreate(s.httpUrl, a.token, 10, { filename: '../../etc/passwd' }), 400, 'FILE_NAME_INVALID'],
      ['folder', await tusCreate(s.httpUrl, a.token, 10, { filename: 'x/y.mp4' }), 400, 'FILE_NAME_INVALID'],
      ['dots', await tusCreate(s.httpUrl, a.token, 10, { filename: 'a..b' }), 400, 'FILE_NAME_INVALID'],
      ['hidden', await tusCreate(s.httpUrl, a.token, 10, { filename: '.env' }), 400, 'FILE_NAME_INVALID'],
      ['no name', await tusCreate(s.httpUrl, a.token, 10, {}), 400, 'FILE_NAME_INVALID'],
      ['no size', await tusCreate(s.httpUrl, a.token, null, { filename: 'x.mp4' }), 400, 'FILE_SIZE_REQUIRED'],
      ['no token', await tusCreate(s.httpUrl, null, 10, { filename: 'x.mp4' }), 401, 'UNAUTHORIZED'],
      ['bad token', await tusCreate(s.httpUrl, 'not-a-token', 10, { filename: 'x.mp4' }), 401, 'UNAUTHORIZED'],
    ];
    for (const [what, res, status, code] of cases) expect([what, res.status, res.body?.error?.code]).toEqual([what, status, code]);
    expect((await api('GET', '/api/v1/files/usage')).body).toEqual(before);

    // A truncated upload stays resumable; a PATCH at the wrong offset is refused, the bytes kept.
    const created = await tusCreate(s.httpUrl, a.token, 1000, { filename: 'half.log' });
    expect(created.status).toBe(201);
    expect((await tusPatch(s.httpUrl, created.location!, a.token, 0, Buffer.alloc(400, 'a'))).status).toBe(204);
    const wrong = await tusPatch(s.httpUrl, created.location!, a.token, 100, Buffer.alloc(10, 'b'));
    expect([wrong.status, wrong.body?.error?.code]).toEqual([409, 'UPLOAD_OFFSET_CONFLICT']);
    const last = await tusPatch(s.httpUrl, created.location!, a.token, 400, Buffer.alloc(600, 'c'));
    expect(last.status).toBe(204);
    const id = last.headers.get('tether-file-id')!;
    const content = await fetch(`${s.httpUrl}/api/v1/files/${id}/content`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(await content.text()).toBe('a'.repeat(400) + 'c'.repeat(600));
    const unknown = await fetch(`${s.httpUrl}/api/v1/files/${id}/content`, { headers: { authorization: `Bearer ${s.api.token}`, range: 'bytes=5000-' } });
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([416, 'RANGE_NOT_SATISFIABLE']);
  });

  it('attaches files to the alert that named them, whichever arrives first', async () => {
    const ts = Date.parse('2026-12-07T10:00:00Z');
    const alert = {
      message: 'Harsh braking',
      type: 'harsh_braking',
      severity: 'major',
      ts,
      data: { speedKmh: 82, decelG: 0.61 },
      file_list: ['brake-front.mp4', 'brake-cab.png'],
    };
    expect((await api('POST', '/api/v1/device/alerts', alert, b.token)).status).toBe(202);
    // A replay after a lost answer adds nothing.
    expect((await api('POST', '/api/v1/device/alerts', alert, b.token)).status).toBe(202);
    const list = await api('GET', `/api/v1/alerts?deviceId=${b.id}&hasFiles=true`);
    expect(list.body.total).toBe(1);
    const id = list.body.items[0].id as string;
    expect(list.body.items[0].files).toEqual(['brake-front.mp4', 'brake-cab.png']);
    let detail = await api('GET', `/api/v1/alerts/${id}`);
    expect(detail.body.attachments).toEqual([
      { name: 'brake-front.mp4', file: null },
      { name: 'brake-cab.png', file: null },
    ]);
    await tusUpload(s.httpUrl, b.token, Buffer.concat([MP4_HEAD, randomBytes(50_000)]), { filename: 'brake-front.mp4', filetype: 'video/mp4' }).done;
    detail = await api('GET', `/api/v1/alerts/${id}`);
    expect(detail.body.attachments[0].file).toMatchObject({ name: 'brake-front.mp4', state: 'stored', contentType: 'video/mp4' });
    expect(detail.body.attachments[1].file).toBeNull();
    const play = await fetch(`${s.httpUrl}${detail.body.attachments[0].file.url}`, { headers: { range: 'bytes=4-7' } });
    expect([play.status, await play.text()]).toEqual([206, 'ftyp']);
    // The JSON summary is queryable.
    expect((await api('GET', `/api/v1/alerts?data=${encodeURIComponent('{"speedKmh":82}')}`)).body.total).toBe(1);
    expect((await api('GET', `/api/v1/alerts?data=${encodeURIComponent('{"speedKmh":10}')}`)).body.total).toBe(0);
    expect((await api('GET', `/api/v1/alerts?data=${encodeURIComponent('[1]')}`)).body.error.code).toBe('VALIDATION_FAILED');
    expect((await api('GET', `/api/v1/alerts/${crypto.randomUUID()}`)).body.error.code).toBe('ALERT_NOT_FOUND');
    // Path traversal in an alert's file list is refused with the payload.
    const evil = await api('POST', '/api/v1/device/alerts', { message: 'x', files: ['../a'] }, b.token);
    expect([evil.status, evil.body.error.code]).toEqual([400, 'INVALID_PAYLOAD']);
  });

  it('deletes a file (operators, audited) and sweeps expired and abandoned files', async () => {
    const files = (await api('GET', `/api/v1/files?deviceId=${a.id}&state=stored`)).body.items as { id: string; name: string; url: string }[];
    const png = files.find((f) => f.name === 'cab.png')!;
    await s.api.users.create({ email: 'viewer@files.test', password: 'viewer-password-1', name: 'Viewer', role: 'viewer' });
    const viewer = (
      await httpJson(`${s.httpUrl}/api/v1/auth/login`, {
        method: 'POST',
        body: JSON.stringify({ email: 'viewer@files.test', password: 'viewer-password-1' }),
      })
    ).body.accessToken as string;
    expect((await api('GET', `/api/v1/files/${png.id}`, undefined, viewer)).status).toBe(200);
    expect((await api('DELETE', `/api/v1/files/${png.id}`, undefined, viewer)).body.error.code).toBe('FORBIDDEN');
    expect((await api('DELETE', `/api/v1/files/${png.id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/files/${png.id}`)).body.error.code).toBe('FILE_NOT_FOUND');
    expect((await fetch(`${s.httpUrl}${png.url}`)).status).toBe(404);
    const audit = await s.tether.db.query<{ action: string; details: { name: string } }>('SELECT action, details FROM audit_log WHERE target_id = $1', [
      png.id,
    ]);
    expect(audit).toMatchObject([{ action: 'file.deleted', details: { name: 'cab.png' } }]);

    // An upload left unfinished for a day goes, and every stored file once past the retention.
    const left = await tusCreate(s.httpUrl, b.token, 100, { filename: 'abandoned.log' });
    expect(left.status).toBe(201);
    const usage = (await api('GET', '/api/v1/files/usage')).body as { usedBytes: number; retentionDays: number };
    expect(usage.retentionDays).toBe(90);
    expect(await s.tether.files.sweep(Date.now() + 2 * 86400_000)).toBe(1);
    expect((await api('GET', `/api/v1/files?state=uploading`)).body.total).toBe(0);
    const stored = (await api('GET', '/api/v1/files')).body.total as number;
    expect(stored).toBeGreaterThan(0);
    expect(await s.tether.files.sweep(Date.now() + 91 * 86400_000)).toBe(stored);
    expect((await api('GET', '/api/v1/files/usage')).body.usedBytes).toBe(0);
    // Nothing left on disk: no stored file, no staged upload or its record.
    for (const dir of [path.join(s.config.dataDir, 'files', 'device-files'), path.join(s.config.dataDir, 'uploads')]) {
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : [], dir).toEqual([]);
    }
  });
});
