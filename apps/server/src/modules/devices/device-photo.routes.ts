import { fileTypeFromBuffer } from 'file-type';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { requireRole } from '../accounts/actor.js';
import { AppError } from '../errors.js';
import { NoContent } from '../../platform/http/schemas.js';
import type { FileStorage } from '../../platform/storage/file-storage.js';
import { DevicePhoto, IMAGE_TYPES } from './devices.schemas.js';
import type { DevicesService } from './devices.service.js';

const Id = Type.Object({ id: Type.String() });

/** Device photos (seed 000): PUT the image bytes, GET it back with its content type. */
export function devicePhotoRoutes(devices: DevicesService, storage: FileStorage, maxBytes: number) {
  return async (app: App) => {
    app.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
    app.put(
      '/api/v1/devices/:id/photo',
      {
        bodyLimit: maxBytes,
        schema: {
          tags: ['devices'],
          params: Id,
          description: `Body: the image (${IMAGE_TYPES.join(', ')}), at most ${maxBytes} bytes.`,
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        // The device is looked up first: another org's device is a 404 whatever the body.
        const device = await devices.get(actorOf(req), req.params.id);
        requireRole(actorOf(req), 'operator');
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (!IMAGE_TYPES.includes(type)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `send one of ${IMAGE_TYPES.join(', ')}`);
        const body = req.body as Buffer;
        if (!Buffer.isBuffer(body) || body.length === 0) throw new AppError('VALIDATION_FAILED', 'the image is empty');
        // The bytes decide, not the header: an HTML page sent as image/jpeg is refused.
        const detected = (await fileTypeFromBuffer(body))?.mime;
        if (detected !== type) {
          throw new AppError(
            'UNSUPPORTED_MEDIA_TYPE',
            detected && IMAGE_TYPES.includes(detected) ? `the bytes are ${detected}, not ${type}` : `the bytes are not a ${type} image`,
          );
        }
        const key = `photos/${device.orgId}/${device.id}`;
        await devices.setPhoto(actorOf(req), device.id, key, type); // checks the role before anything is written
        await storage.put(key, body);
        return reply.status(204).send(null);
      },
    );
    app.get('/api/v1/devices/:id/photo', { schema: { tags: ['devices'], params: Id, response: { 200: DevicePhoto } } }, async (req, reply) => {
      const photo = await devices.photo(actorOf(req), req.params.id);
      const stream = photo && (await storage.get(photo.key));
      if (!photo || !stream) throw new AppError('PHOTO_NOT_FOUND', 'this device has no photo');
      // nosniff: a browser takes the stored type (checked on upload) and never guesses another.
      return reply.type(photo.contentType).header('x-content-type-options', 'nosniff').header('cache-control', 'private, max-age=60').send(stream);
    });
    app.delete('/api/v1/devices/:id/photo', { schema: { tags: ['devices'], params: Id, response: { 204: NoContent } } }, async (req, reply) => {
      const photo = await devices.photo(actorOf(req), req.params.id);
      if (!photo) throw new AppError('PHOTO_NOT_FOUND', 'this device has no photo');
      await devices.setPhoto(actorOf(req), req.params.id, null, null);
      await storage.delete(photo.key);
      return reply.status(204).send(null);
    });
  };
}
