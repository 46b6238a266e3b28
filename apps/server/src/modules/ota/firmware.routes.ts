import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { sendRanged } from '../../platform/http/ranged.js';
import { actorOf } from '../accounts/request-actor.js';
import { AppError } from '../errors.js';
import { DownloadLink, DownloadLinkInput, DownloadQuery, Firmware, FirmwareInput, FirmwareList, FirmwareQuery } from './firmware.schemas.js';
import type { Artifact, FirmwareService } from './firmware.service.js';

const IdParam = Type.Object({ id: Type.String() });
const tags = ['firmware'];

/** The artifact's bytes, whole (200) or one range (206). */
const ArtifactBody = {
  description: 'The artifact: all of it (200), or the requested range (206, Content-Range) to resume a download',
  content: { 'application/octet-stream': { schema: Type.Unsafe<Readable>(Type.String({ format: 'binary' })) } },
};
const DOWNLOAD_RESPONSES = { 200: ArtifactBody, 206: ArtifactBody };
const RANGE_DOC =
  'Send `Range: bytes=N-` to resume: 206 with Content-Range. `If-Range` with the ETag (the sha256 in quotes) resumes only the same artifact. ' +
  'X-Checksum-Sha256 carries the sha256 to check the whole file against. 416 RANGE_NOT_SATISFIABLE for a range past the end.';

/** The artifact's bytes, with Range to resume; X-Checksum-Sha256 to check the whole file against. */
async function sendArtifact(req: FastifyRequest, reply: FastifyReply, a: Artifact) {
  reply.header('x-checksum-sha256', a.sha256);
  return sendRanged(req, reply, {
    size: a.size,
    etag: `"${a.sha256}"`,
    contentType: 'application/octet-stream',
    disposition: `attachment; filename="firmware-${a.firmware.version}.bin"`,
    open: (range) => a.open(range),
  });
}

/** Firmware artifacts (issue 14), for members of the org. Registered inside an authenticated scope. */
export function firmwareRoutes(firmware: FirmwareService) {
  return async (app: App) => {
    // The artifact is streamed to the storage as it arrives, never buffered (see FirmwareService.upload).
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    app.get('/api/v1/firmware', { schema: { tags, querystring: FirmwareQuery, response: { 200: FirmwareList } } }, (req) =>
      firmware.list(actorOf(req), req.query),
    );
    app.post(
      '/api/v1/firmware',
      {
        schema: {
          tags,
          description:
            'Describes a firmware (operator); then PUT its artifact. 404 TEMPLATE_NOT_FOUND, 409 FIRMWARE_VERSION_TAKEN (the template has this version).',
          body: FirmwareInput,
          response: { 201: Firmware },
        },
      },
      async (req, reply) => reply.status(201).send(await firmware.create(actorOf(req), req.body)),
    );
    app.get('/api/v1/firmware/:id', { schema: { tags, params: IdParam, response: { 200: Firmware } } }, (req) => firmware.get(actorOf(req), req.params.id));
    app.delete(
      '/api/v1/firmware/:id',
      { schema: { tags, params: IdParam, description: 'Admin. 409 FIRMWARE_IN_USE once a deployment used it.', response: { 204: NoContent } } },
      async (req, reply) => {
        await firmware.delete(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
    app.put(
      '/api/v1/firmware/:id/artifact',
      {
        schema: {
          tags,
          params: IdParam,
          description:
            'Body: the artifact as application/octet-stream, streamed (operator). Size and sha256 are computed on the way. ' +
            '400 FIRMWARE_CHECKSUM_MISMATCH (not the declared sha256), 400 UPLOAD_INCOMPLETE (the body was cut off), ' +
            '409 FIRMWARE_ALREADY_UPLOADED, 413 PAYLOAD_TOO_LARGE; a refused upload keeps nothing.',
          response: { 200: Firmware },
        },
      },
      async (req) => {
        // Another org's firmware is a 404 whatever the body.
        await firmware.get(actorOf(req), req.params.id);
        if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/octet-stream') {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'send the artifact as application/octet-stream');
        }
        const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
        return firmware.upload(actorOf(req), req.params.id, req.body as Readable, Number.isFinite(length) ? length : null);
      },
    );
    app.get(
      '/api/v1/firmware/:id/artifact',
      // Not compressed: a firmware image gains little, and Range and Content-Length must count its own bytes.
      { compress: false, schema: { tags, params: IdParam, description: `Downloads the artifact. ${RANGE_DOC}`, response: DOWNLOAD_RESPONSES } },
      async (req, reply) => sendArtifact(req, reply, await firmware.artifact(actorOf(req), req.params.id)),
    );
    app.post(
      '/api/v1/firmware/:id/download-link',
      {
        schema: {
          tags,
          params: IdParam,
          body: Type.Optional(DownloadLinkInput),
          description:
            'A link that downloads the artifact with no other credential until it expires (what an OTA job gives a device). 409 FIRMWARE_NOT_UPLOADED.',
          response: { 200: DownloadLink },
        },
      },
      (req) => firmware.downloadLink(actorOf(req), req.params.id, req.body?.ttlSeconds),
    );
  };
}

/** Downloads by signed link: no session or device token, the link's token is the credential. */
export function firmwareDownloadRoutes(firmware: FirmwareService) {
  return async (app: App) => {
    app.get(
      '/api/v1/firmware-downloads/:id',
      {
        compress: false,
        schema: {
          tags,
          params: IdParam,
          querystring: DownloadQuery,
          security: [],
          description: `Downloads an artifact through a link from POST /api/v1/firmware/{id}/download-link or an OTA job. 403 DOWNLOAD_LINK_INVALID, DOWNLOAD_LINK_EXPIRED. ${RANGE_DOC}`,
          response: DOWNLOAD_RESPONSES,
        },
      },
      async (req, reply) => sendArtifact(req, reply, await firmware.artifactByLink(req.params.id, req.query.token)),
    );
  };
}
