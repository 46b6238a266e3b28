import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { bearerToken } from '../../platform/http/server.js';
import { isFinalCommandStatus } from '@tether/contracts';
import { AppError } from '../errors.js';
import type { DevicesService } from '../devices/devices.service.js';
import { IngestRejection } from '../ingest/ingest-message.js';
import { COMMAND_STATUSES } from './commands.repository.js';
import { Command, CommandList, CommandStillOpen } from './commands.schemas.js';
import type { CommandsService } from './commands.service.js';

const Params = Type.Object({ id: Type.String(), commandId: Type.String() });

/** Registered inside an authenticated scope. */
export function commandsRoutes(commands: CommandsService) {
  return async (app: App) => {
    app.post(
      '/api/v1/devices/:id/commands',
      {
        schema: {
          tags: ['commands'],
          description:
            'Creates a persistent command: 201 with the new command. With ?wait=true the request waits for the result (up to timeoutMs): 200 with the finished command, else 504 COMMAND_TIMEOUT (or 503 SHUTTING_DOWN) with the command still tracked.',
          params: Type.Object({ id: Type.String() }),
          querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }),
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 128 }),
            params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
            expiresAt: Type.Optional(Type.String()),
            retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
          }),
          response: { 200: Command, 201: Command, 503: CommandStillOpen, 504: CommandStillOpen },
        },
      },
      async (req, reply) => {
        const command = await commands.create(actorOf(req), req.params.id, req.body);
        if (!req.query.wait) return reply.status(201).send(command);
        const done = isFinalCommandStatus(command.status) ? command : await commands.waitForCompletion(command.id, command.timeoutMs);
        if (!done) {
          const current = await commands.get(actorOf(req), req.params.id, command.id);
          if (commands.stopping) {
            return reply.status(503).send({
              error: { code: 'SHUTTING_DOWN', message: 'the server is shutting down before the device answered; the command is still tracked' },
              command: current,
            });
          }
          return reply
            .status(504)
            .send({ error: { code: 'COMMAND_TIMEOUT', message: `no result within ${command.timeoutMs} ms; the command is still tracked` }, command: current });
        }
        return reply.status(200).send(done);
      },
    );
    app.get(
      '/api/v1/devices/:id/commands',
      {
        schema: {
          tags: ['commands'],
          params: Type.Object({ id: Type.String() }),
          querystring: Type.Object({ status: Type.Optional(Type.Enum(COMMAND_STATUSES)), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
          response: { 200: CommandList },
        },
      },
      (req) => commands.list(actorOf(req), req.params.id, req.query),
    );
    app.get('/api/v1/devices/:id/commands/:commandId', { schema: { tags: ['commands'], params: Params, response: { 200: Command } } }, (req) =>
      commands.get(actorOf(req), req.params.id, req.params.commandId),
    );
    app.delete(
      '/api/v1/devices/:id/commands/:commandId',
      { schema: { tags: ['commands'], params: Params, description: 'Cancels a queued command.', response: { 200: Command } } },
      (req) => commands.cancel(actorOf(req), req.params.id, req.params.commandId),
    );
  };
}

/** HTTP command delivery for devices without MQTT: a long-poll and a result upload. */
export function deviceCommandsRoutes(commands: CommandsService, devices: DevicesService) {
  const authDevice = (token: string | null) => devices.requireDevice(token);
  return async (app: App) => {
    app.get(
      '/api/v1/device/commands',
      {
        schema: {
          tags: ['device api'],
          description: 'Long-poll: returns open commands at once (now delivered), or waits up to `wait` seconds for one; an empty list when none came.',
          querystring: Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 60 })) }),
          response: { 200: CommandList },
        },
      },
      async (req) => {
        const device = await authDevice(bearerToken(req));
        return { items: await commands.poll(device, req.query.wait ?? 0) };
      },
    );
    app.post(
      '/api/v1/device/commands/:commandId/result',
      {
        schema: {
          tags: ['device api'],
          params: Type.Object({ commandId: Type.String() }),
          body: Type.Object({
            status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
            result: Type.Optional(Type.Unknown()),
            error: Type.Optional(Type.String()),
          }),
          response: { 200: Command },
        },
      },
      async (req) => {
        const device = await authDevice(bearerToken(req));
        try {
          return await commands.complete(device, req.params.commandId, req.body);
        } catch (err) {
          if (err instanceof IngestRejection) {
            throw new AppError(err.reason === 'not_authorized' ? 'COMMAND_NOT_FOUND' : 'VALIDATION_FAILED', err.message);
          }
          throw err;
        }
      },
    );
  };
}
