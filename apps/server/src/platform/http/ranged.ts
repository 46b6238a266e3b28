import type { FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import type { Readable } from 'node:stream';
import { HttpError } from './errors.js';
import type { ByteRange } from '../storage/file-storage.js';

export interface RangedBody {
  size: number;
  /** A strong validator of these bytes (quoted): `If-Range` resumes only the same bytes. */
  etag: string;
  contentType: string;
  /** The Content-Disposition header (inline for media a page plays, attachment otherwise). */
  disposition: string;
  open(range?: ByteRange): Promise<Readable>;
}

/**
 * Sends stored bytes with Range support (RFC 9110 §14): one range as 206 with Content-Range,
 * several or a malformed header as the whole body, a range past the end as 416
 * RANGE_NOT_SATISFIABLE. What a resumed download and a video player that seeks both need.
 */
export async function sendRanged(req: FastifyRequest, reply: FastifyReply, body: RangedBody) {
  reply
    .type(body.contentType)
    .header('accept-ranges', 'bytes')
    .header('etag', body.etag)
    .header('cache-control', 'private, no-transform')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', body.disposition);
  const range = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (range && (ifRange === undefined || ifRange === body.etag)) {
    const ranges = rangeParser(body.size, range, { combine: true });
    if (ranges === -1) {
      reply.header('content-range', `bytes */${body.size}`);
      throw new HttpError(416, 'RANGE_NOT_SATISFIABLE', `the file has ${body.size} bytes`);
    }
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      const r = ranges[0]!;
      return reply
        .status(206)
        .header('content-range', `bytes ${r.start}-${r.end}/${body.size}`)
        .header('content-length', r.end - r.start + 1)
        .send(await body.open({ start: r.start, end: r.end }));
    }
  }
  return reply.header('content-length', body.size).send(await body.open());
}
