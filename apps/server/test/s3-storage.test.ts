/**
 * Issue 14 (and 15's storage layer): files in an S3-compatible bucket, against
 * a real S3 server (s3rver). The storage itself: streamed multipart puts,
 * ranges, sizes, deletes, and an upload cut off midway that leaves nothing.
 * Then firmware through the real server on S3: a 40 MB artifact streamed in
 * and out, Range, and a device's OTA download from the bucket.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3FileStorage } from '../src/platform/storage/s3-storage.js';
import { httpJson, startServer, until, type TestServer } from './helpers.js';
import { startS3, type PrivateS3 } from './private-s3.js';

let s3: PrivateS3;
let storage: S3FileStorage;

beforeAll(async () => {
  s3 = await startS3();
  storage = new S3FileStorage({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    prefix: 'unit/',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  storage?.close();
  await s3?.stop();
});

const bytesOf = async (r: Readable | null) => {
  const chunks: Buffer[] = [];
  for await (const c of r!) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('S3 file storage', () => {
  it('stores a stream in parts, and reads it whole, by range and by size', async () => {
    const body = randomBytes(20 * 1024 * 1024 + 123); // three 8 MB parts
    const size = await storage.put('firmware/a/b', Readable.from([body.subarray(0, 5_000_000), body.subarray(5_000_000)]));
    expect(size).toBe(body.length);
    expect(await storage.size('firmware/a/b')).toBe(body.length);
    expect((await bytesOf(await storage.get('firmware/a/b'))).equals(body)).toBe(true);
    expect((await bytesOf(await storage.get('firmware/a/b', { start: 10, end: 19 }))).equals(body.subarray(10, 20))).toBe(true);
    expect(await storage.ping()).toBe(true);
  });

  it('answers null for what is not there, and deletes', async () => {
    expect(await storage.get('nothing/here')).toBeNull();
    expect(await storage.size('nothing/here')).toBeNull();
    await storage.put('photos/x', Buffer.from('png bytes'));
    expect(await text((await storage.get('photos/x'))!)).toBe('png bytes');
    await storage.delete('photos/x');
    expect(await storage.size('photos/x')).toBeNull();
    await expect(storage.put('../escape', Buffer.from('x'))).rejects.toThrow(/unsafe/);
  });

  it('an upload cut off midway fails and leaves no object', async () => {
    const before = s3.objectCount();
    const body = new PassThrough();
    const put = storage.put('firmware/cut', body);
    body.write(randomBytes(9 * 1024 * 1024)); // past the first part
    setTimeout(() => body.destroy(new Error('client went away')), 200);
    await expect(put).rejects.toThrow();
    expect(await storage.size('firmware/cut')).toBeNull();
    expect(s3.objectCount()).toBe(before);
  });
});

describe('firmware on S3 through the real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer(s3.env);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('streams a 40 MB artifact into the bucket and back, with Range, and serves a device its OTA download from it', async () => {
    const api = (method: string, p: string, body?: unknown) =>
      httpJson(`${s.httpUrl}${p}`, { method, token: s.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });
    const ready = await httpJson(`${s.httpUrl}/readyz`);
    expect(ready.body.checks).toMatchObject({ storage: true });
    const template = (await api('POST', '/api/v1/templates', { name: 'S3 boiler' })).body.id as string;
    const fw = (await api('POST', '/api/v1/firmware', { templateId: template, version: '3.0.0' })).body.id as string;
    const mb = 40;
    const chunk = (i: number) => Buffer.alloc(1024 * 1024, i % 251);
    const hash = createHash('sha256');
    for (let i = 0; i < mb; i++) hash.update(chunk(i));
    const sha256 = hash.digest('hex');
    const objects = s3.objectCount();
    const up = await fetch(`${s.httpUrl}/api/v1/firmware/${fw}/artifact`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(
        Readable.from(
          (function* () {
            for (let i = 0; i < mb; i++) yield chunk(i);
          })(),
        ),
      ) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ size: mb * 1024 * 1024, sha256 });
    expect(s3.objectCount()).toBe(objects + 1);

    const whole = await fetch(`${s.httpUrl}/api/v1/firmware/${fw}/artifact`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(
      createHash('sha256')
        .update(Buffer.from(await whole.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha256);
    const part = await fetch(`${s.httpUrl}/api/v1/firmware/${fw}/artifact`, {
      headers: { authorization: `Bearer ${s.api.token}`, range: 'bytes=1048575-1048576' },
    });
    expect(part.status).toBe(206);
    expect([...Buffer.from(await part.arrayBuffer())]).toEqual([0, 1]);

    // A device of the template takes a deployment and downloads from the bucket through its link.
    const dev = await api('POST', '/api/v1/devices', { name: 's3-boiler', templateId: template, tags: ['s3'] });
    const fleet = await api('POST', '/api/v1/fleets', { name: 's3 boilers', kind: 'selector', selector: { tags: ['s3'] } });
    const dep = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: fleet.body.id });
    expect(dep.status).toBe(201);
    const job = await httpJson(`${s.httpUrl}/api/v1/device/ota`, { token: dev.body.token as string });
    const link = await fetch(job.body.url as string, { headers: { range: `bytes=${mb * 1024 * 1024 - 3}-` } });
    expect([link.status, [...Buffer.from(await link.arrayBuffer())]]).toEqual([206, [(mb - 1) % 251, (mb - 1) % 251, (mb - 1) % 251]]);

    // Deleting the firmware deletes its object. (A firmware in a deployment is kept: the deployment refers to it.)
    const fw2 = (await api('POST', '/api/v1/firmware', { templateId: template, version: '3.0.1' })).body.id as string;
    await fetch(`${s.httpUrl}/api/v1/firmware/${fw2}/artifact`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('small'),
    });
    const count = s3.objectCount();
    expect((await api('DELETE', `/api/v1/firmware/${fw2}`)).status).toBe(204);
    await until(() => s3.objectCount() === count - 1);
  });
});
