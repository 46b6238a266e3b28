/**
 * Issue 15: device files on S3-compatible storage (a real s3rver): a resumable upload cut
 * off midway and resumed (S3 multipart under tus), typed from its bytes, served with Range
 * from the bucket through the signed url, attached to its alert, deleted with its objects.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MP4_HEAD, tusCreate } from './tus-helpers.js';
import { httpJson, startServer, until, type TestServer } from './helpers.js';
import { startS3, type PrivateS3 } from './private-s3.js';

describe('device files on S3', () => {
  let s3: PrivateS3;
  let s: TestServer;
  let dev: { id: string; token: string };
  const api = async (method: string, p: string, body?: unknown, token = s.api.token!) => {
    const res = await httpJson(`${s.httpUrl}${p}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return res as { status: number; body: any };
  };

  beforeAll(async () => {
    s3 = await startS3();
    s = await startServer({ ...s3.env, TETHER_S3_PREFIX: 'tenant-files/' });
    dev = (await api('POST', '/api/v1/devices', { name: 'truck-s3' })).body;
  });
  afterAll(async () => {
    await s?.close();
    await s3?.stop();
  });

  it('resumes a 30 MB video cut off at 40% in the bucket, and plays it back by range', async () => {
    const size = 30 * 1024 * 1024;
    const body = Buffer.concat([MP4_HEAD, randomBytes(size - MP4_HEAD.length)]);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const ts = Date.now() - 60_000;
    expect((await api('POST', '/api/v1/device/alerts', { message: 'Harsh braking', type: 'harsh_braking', ts, files: ['front.mp4'] }, dev.token)).status).toBe(
      202,
    );

    const offsets: number[] = [];
    const options = (more: Partial<tus.UploadOptions>): tus.UploadOptions => ({
      endpoint: `${s.httpUrl}/api/v1/device/files/uploads`,
      headers: { authorization: `Bearer ${dev.token}` },
      metadata: { filename: 'front.mp4', filetype: 'video/mp4' },
      // Sent in 10 MB requests, as a device on a poor link would: a dropped one costs at most that.
      chunkSize: 10 * 1024 * 1024,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
      },
      ...more,
    });
    const url = await new Promise<string>((resolve) => {
      let cut = false;
      const up: tus.Upload = new tus.Upload(
        body,
        options({
          retryDelays: [],
          onProgress: (sent) => {
            if (!cut && sent >= size * 0.4) {
              cut = true;
              void up.abort().then(() => resolve(up.url!));
            }
          },
        }),
      );
      up.start();
    });
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${dev.token}` } });
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(size);
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(body, options({ uploadUrl: url, retryDelays: [200, 500, 1000, 2000], onSuccess: () => resolve(), onError: reject })).start();
    });
    const resumedAt = offsets.find((o, i) => i > 0 && o > 0 && o < offsets[i - 1]!) ?? offsets.find((o) => o === offset);
    expect(resumedAt, `PATCH offsets ${offsets.join(',')}`).toBeDefined();
    expect(offsets.filter((o) => o === 0)).toHaveLength(1);

    const alert = (await api('GET', `/api/v1/alerts?deviceId=${dev.id}`)).body.items[0];
    const detail = (await api('GET', `/api/v1/alerts/${alert.id}`)).body;
    const file = detail.attachments[0].file;
    expect(file).toMatchObject({ name: 'front.mp4', state: 'stored', contentType: 'video/mp4', size });
    const whole = await fetch(`${s.httpUrl}${file.url}`);
    expect(
      createHash('sha256')
        .update(Buffer.from(await whole.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha256);
    const seek = await fetch(`${s.httpUrl}${file.url}`, { headers: { range: `bytes=${size - 10}-` } });
    expect(seek.status).toBe(206);
    expect(Buffer.from(await seek.arrayBuffer()).equals(body.subarray(size - 10))).toBe(true);

    // Refusals before any byte reaches the bucket; deleting takes the object.
    const objects = s3.objectCount();
    expect((await tusCreate(s.httpUrl, dev.token, 10, { filename: '../x' })).body?.error?.code).toBe('FILE_NAME_INVALID');
    expect(s3.objectCount()).toBe(objects);
    expect((await api('DELETE', `/api/v1/files/${file.id}`)).status).toBe(204);
    await until(() => s3.objectCount() === objects - 1);
    expect((await fetch(`${s.httpUrl}${file.url}`)).status).toBe(404);
  }, 120_000);
});
