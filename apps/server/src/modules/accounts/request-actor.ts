import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../../platform/http/server.js';
import { AppError } from '../errors.js';
import type { AccountsService } from './accounts.service.js';
import type { Actor } from './actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireActor; the HTTP server decorates every request with null. */
    actor: Actor | null;
  }
}

/** onRequest hook: every route in the scope needs a user token or API key. */
export function requireActor(accounts: AccountsService) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req);
    if (!token) throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <access token or API key>');
    req.actor = { ...(await accounts.authenticate(token)), ip: req.ip };
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new AppError('UNAUTHORIZED', 'not signed in');
  return req.actor;
}
