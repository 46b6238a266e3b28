import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ERRORS, EVENTS, Server as TusServer } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { bearerToken } from '../../platform/http/server.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.js';
import type { FilesService } from './files.service.js';

export const UPLOADS_PATH = '/api/v1/device/files/uploads';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** tus's own refusals, as the API's stable codes. */
const TUS_CODES = new Map<unknown, ErrorCode>([
  [ERRORS.FILE_NOT_FOUND, 'FILE_NOT_FOUND'],
  [ERRORS.FILE_NO_LONGER_EXISTS, 'FILE_NOT_FOUND'],
  [ERRORS.INVALID_OFFSET, 'UPLOAD_OFFSET_CONFLICT'],
  [ERRORS.MISSING_OFFSET, 'VALIDATION_FAILED'],
  [ERRORS.INVALID_CONTENT_TYPE, 'UNSUPPORTED_MEDIA_TYPE'],
  [ERRORS.ERR_SIZE_EXCEEDED, 'PAYLOAD_TOO_LARGE'],
  [ERRORS.ERR_MAX_SIZE_EXCEEDED, 'PAYLOAD_TOO_LARGE'],
  [ERRORS.INVALID_LENGTH, 'FILE_SIZE_REQUIRED'],
  [ERRORS.INVALID_METADATA, 'VALIDATION_FAILED'],
  [ERRORS.INVALID_TERMINATION, 'FILE_EXISTS'],
  [ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION, 'FILE_SIZE_REQUIRED'],
  [ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION, 'VALIDATION_FAILED'],
  [ERRORS.ERR_LOCK_TIMEOUT, 'UNAVAILABLE'],
  [ERRORS.ABORTED, 'UNAVAILABLE'],
]);

/** The body of an error as every other route sends it. */
const errorBody = (code: string, message: string, details?: unknown) => JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } });

/** A domain error thrown inside a tus hook: tus answers with its status and our JSON body. */
const tusError = (err: AppError) => ({ status_code: ERROR_STATUS[err.code], body: errorBody(err.code, err.message, err.details) });

/**
 * Resumable device uploads: the tus protocol (tus.io, @tus/server) on
 * /api/v1/device/files/uploads, authenticated by the device token. POST creates an upload
 * (Upload-Length, Upload-Metadata `filename` and optionally `filetype`), PATCH appends at
 * Upload-Offset, HEAD tells how much arrived (to resume after a dropped connection), DELETE
 * abandons an unfinished upload. Bytes stream to the file storage (disk, or S3 multipart)
 * and are never held in memory; the quota is checked before any is stored, the type once
 * the last is in.
 */
export function fileUploadRoutes(files: FilesService, devices: DevicesService, logger: Logger) {
  // The device each request authenticated as, for the tus hooks (they see the Node request).
  const deviceOf = new WeakMap<IncomingMessage, DeviceIdentity>();
  const nodeReq = (req: Request) => (req as Request & { runtime?: { node?: { req: IncomingMessage } } }).runtime?.node?.req;

  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore: files.uploads,
    maxSize: files.maxFileBytes,
    // The upload's id is the file's.
    namingFunction: () => randomUUID(),
    getFileIdFromRequest: (_req, lastPath) => (lastPath && UUID.test(lastPath) ? lastPath.toLowerCase() : undefined),
    relativeLocation: true,
    disableTerminationForFinishedUploads: true,
    onUploadCreate: async (req, upload) => {
      const device = deviceOf.get(nodeReq(req)!);
      if (!device) throw tusError(new AppError('UNAUTHORIZED', 'a device token is required'));
      try {
        await files.reserve(device, {
          id: upload.id,
          name: upload.metadata?.filename ?? undefined,
          size: upload.sizeIsDeferred ? undefined : upload.size,
          declaredType: upload.metadata?.filetype ?? null,
        });
      } catch (err) {
        if (err instanceof AppError) throw tusError(err);
        throw err;
      }
      return {};
    },
    onUploadFinish: async (_req, upload) => {
      try {
        const file = await files.finish(upload.id);
        // tus answers 204 with no body; the file's id and type go in headers a client may read.
        return { headers: { 'Tether-File-Id': file.id, 'Tether-Content-Type': file.contentType ?? '' } };
      } catch (err) {
        if (err instanceof AppError) throw tusError(err);
        throw err;
      }
    },
    onResponseError: async (_req, err) => {
      const e = err as Error & { status_code?: number; body?: string };
      if (e.body?.startsWith('{"error"')) return { status_code: e.status_code ?? 500, body: e.body };
      const code = TUS_CODES.get(err);
      if (code) return { status_code: ERROR_STATUS[code], body: errorBody(code, (e.body ?? e.message).trim()) };
      logger.warn({ err }, 'file upload failed');
      return { status_code: 500, body: errorBody('INTERNAL', 'the upload could not be stored; resume it') };
    },
    exposedHeaders: ['Tether-File-Id', 'Tether-Content-Type'],
  });
  tus.on(EVENTS.POST_TERMINATE, (_req, _res, id) => {
    void files.terminated(id).catch((err: unknown) => logger.warn({ err }, 'could not forget a terminated upload'));
  });

  const hand = async (req: FastifyRequest, reply: FastifyReply, device: DeviceIdentity) => {
    deviceOf.set(req.raw, device);
    reply.hijack();
    await tus.handle(req.raw, reply.raw);
  };
  const own = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const device = await devices.requireDevice(bearerToken(req));
    const row = await files.uploadOf(device, req.params.id);
    // A node that stopped between the last byte and storing it: the file is stored before the device hears "complete".
    if (req.method === 'HEAD' && row.state === 'uploading') await files.finishIfComplete(row.id);
    await hand(req, reply, device);
  };

  const tags = ['device api'];
  const Created = Type.Null({ description: 'The upload exists: its URL is in Location (no body)' });
  const Offset = Type.Null({ description: 'Upload-Offset and Upload-Length headers (no body)' });
  const IdParam = Type.Object({ id: Type.String() });
  const TUS = 'tus 1.0.0 (https://tus.io/protocols/resumable-upload), `Tus-Resumable: 1.0.0` on every request, `Authorization: Bearer <device token>`.';
  return async (app: App) => {
    // tus reads the body itself, streamed: no parser touches it.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    app.post(
      UPLOADS_PATH,
      {
        schema: {
          tags,
          description:
            `Starts an upload to the device's folder. ${TUS} Headers: Upload-Length (required), Upload-Metadata with \`filename\` (required) and \`filetype\`. ` +
            '201 with Location (the upload, to PATCH and HEAD). 400 FILE_NAME_INVALID, FILE_SIZE_REQUIRED; 409 FILE_EXISTS (the device has a file of that name); ' +
            "413 FILE_QUOTA_EXCEEDED (the org's quota, checked before any byte is stored), PAYLOAD_TOO_LARGE (TETHER_FILE_MAX_BYTES). " +
            'A name whose upload never finished starts again from zero.',
          response: { 201: Created },
        },
      },
      async (req, reply) => hand(req, reply, await devices.requireDevice(bearerToken(req))),
    );
    app.head(
      `${UPLOADS_PATH}/:id`,
      {
        schema: {
          tags,
          params: IdParam,
          description: `How many bytes of the upload arrived (Upload-Offset): where to resume. ${TUS} 404 FILE_NOT_FOUND (not this device's).`,
          response: { 200: Offset },
        },
      },
      own,
    );
    app.patch(
      `${UPLOADS_PATH}/:id`,
      {
        schema: {
          tags,
          params: IdParam,
          description:
            `Appends bytes (Content-Type: application/offset+octet-stream) at Upload-Offset. ${TUS} ` +
            'After the last byte the type is read from the bytes: 415 FILE_TYPE_MISMATCH if they are not the declared media (the upload is discarded). ' +
            '409 UPLOAD_OFFSET_CONFLICT (HEAD, then resume from the offset it gives), 404 FILE_NOT_FOUND. The answer to the last PATCH has Tether-File-Id.',
          response: { 204: NoContent },
        },
      },
      own,
    );
    app.delete(
      `${UPLOADS_PATH}/:id`,
      {
        schema: {
          tags,
          params: IdParam,
          description: `Abandons an unfinished upload. ${TUS} 409 FILE_EXISTS once stored (users delete stored files).`,
          response: { 204: NoContent },
        },
      },
      own,
    );
    app.options(
      UPLOADS_PATH,
      { schema: { tags, description: 'tus discovery: versions, extensions, Tus-Max-Size.', response: { 204: NoContent } } },
      async (req, reply) => {
        reply.hijack();
        await tus.handle(req.raw, reply.raw);
      },
    );
  };
}
