/** Device file uploads as devices send them: tus-js-client, and the raw tus protocol for refusals. */
import type fs from 'node:fs';
import * as tus from 'tus-js-client';

/** The first bytes of an MP4 (ISO BMFF `ftyp isom`), and a 1×1 PNG: what file-type recognises. */
export const MP4_HEAD = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

/** An upload with tus-js-client, as a device would send it; resolves with the upload's URL. */
export function tusUpload(
  httpUrl: string,
  token: string,
  body: Buffer | fs.ReadStream,
  meta: Record<string, string>,
  opts: { size?: number; onProgress?: (sent: number, total: number, u: tus.Upload) => void; onBeforeRequest?: (req: tus.HttpRequest) => void } = {},
): { upload: tus.Upload; done: Promise<string> } {
  let upload!: tus.Upload;
  const done = new Promise<string>((resolve, reject) => {
    upload = new tus.Upload(body, {
      endpoint: `${httpUrl}/api/v1/device/files/uploads`,
      headers: { authorization: `Bearer ${token}` },
      metadata: meta,
      uploadSize: opts.size,
      retryDelays: [],
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => opts.onProgress?.(sent, total, upload),
      onBeforeRequest: opts.onBeforeRequest,
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    });
    upload.start();
  });
  return { upload, done };
}

/** The raw protocol, for the refusals a client library would hide. */
export async function tusCreate(httpUrl: string, token: string | null, size: number | null, meta: Record<string, string>) {
  const enc = Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
  const res = await fetch(`${httpUrl}/api/v1/device/files/uploads`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      ...(size === null ? {} : { 'upload-length': String(size) }),
      ...(enc ? { 'upload-metadata': enc } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), body: text ? (JSON.parse(text) as { error?: { code: string } }) : null };
}

export async function tusPatch(httpUrl: string, location: string, token: string, offset: number, bytes: Buffer) {
  const res = await fetch(new URL(location, httpUrl), {
    method: 'PATCH',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      authorization: `Bearer ${token}`,
    },
    body: new Uint8Array(bytes), // a copy typed as BodyInit under both the Node and the DOM libraries (the browser suite imports this file)
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as { error?: { code: string } }) : null };
}
