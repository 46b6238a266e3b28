import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { sendRanged } from '../../platform/http/ranged.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import { ContentQuery, DeviceFile, DeviceFilePage, FileQuery, FileUsage } from './files.schemas.js';
import type { FilesService } from './files.service.js';

const tags = ['files'];
const IdParam = Type.Object({ id: Type.String() });
const PathParams = Type.Object({ deviceId: Type.String(), name: Type.String() });
const Bytes = {
  description: 'The bytes: all (200) or one range (206, Content-Range), with the content type read from them',
  content: { '*/*': { schema: Type.Unsafe<Readable>(Type.String({ format: 'binary' })) } },
};
const CONTENT = { 200: Bytes, 206: Bytes };
const RANGE_DOC =
  'Range: bytes=N-M gives 206 (a player seeks, a download resumes); 416 RANGE_NOT_SATISFIABLE past the end; 409 FILE_NOT_READY while uploading. ' +
  'Images, video and audio are served inline, other files as attachments, always with nosniff.';

/** Device files for members of the org (issue 15). Registered inside an authenticated scope. */
export function filesRoutes(files: FilesService) {
  return async (app: App) => {
    app.get(
      '/api/v1/files',
      { schema: { tags, querystring: FileQuery, description: "The org's device files, newest first.", response: { 200: DeviceFilePage } } },
      (req) => files.list(actorOf(req), req.query),
    );
    app.get('/api/v1/files/usage', { schema: { tags, description: "The org's file quota and what it uses.", response: { 200: FileUsage } } }, (req) =>
      files.usage(actorOf(req)),
    );
    app.get('/api/v1/files/:id', { schema: { tags, params: IdParam, response: { 200: DeviceFile } } }, (req) => files.get(actorOf(req), req.params.id));
    app.get(
      '/api/v1/files/:id/content',
      // Not compressed: Range and Content-Length count the file's own bytes.
      { compress: false, schema: { tags, params: IdParam, description: `Downloads the file. ${RANGE_DOC}`, response: CONTENT } },
      async (req, reply) => sendRanged(req, reply, await files.content(actorOf(req), req.params.id)),
    );
    app.get(
      '/api/v1/devices/:deviceId/files/:name',
      {
        compress: false,
        schema: {
          tags,
          params: PathParams,
          description: `Downloads a file by its place in the device's folder (\`<device>/<file>\`). ${RANGE_DOC}`,
          response: CONTENT,
        },
      },
      async (req, reply) => sendRanged(req, reply, await files.contentByPath(actorOf(req), req.params.deviceId, req.params.name)),
    );
    app.delete(
      '/api/v1/files/:id',
      {
        schema: {
          tags,
          params: IdParam,
          description: 'Deletes the file and its bytes (operator; audited). An unfinished upload is abandoned.',
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        await files.delete(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}

/** A file's signed `url`: the link is the credential (a `<video>` or `<img>` cannot send a bearer token). */
export function fileLinkRoutes(files: FilesService) {
  return async (app: App) => {
    app.get(
      '/api/v1/files/:id/content-link',
      {
        compress: false,
        schema: {
          tags,
          params: IdParam,
          querystring: ContentQuery,
          security: [],
          description: `The bytes of a file through the \`url\` its listing gives. 403 FILE_LINK_INVALID, FILE_LINK_EXPIRED. ${RANGE_DOC}`,
          response: CONTENT,
        },
      },
      async (req, reply) => sendRanged(req, reply, await files.contentByLink(req.params.id, req.query.token)),
    );
  };
}
