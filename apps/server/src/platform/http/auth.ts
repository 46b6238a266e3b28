import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../modules/accounts/actor.js';
import type { AccountsService } from '../../modules/accounts/accounts.service.js';
import { AppError } from './errors.js';
import { bearerToken } from './server.js';

/** onRequest hook: every route in the scope needs a user token or API key. */
export function requireActor(accounts: AccountsService) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req);
    if (!token) throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <access token or API key>');
    req.actor = await accounts.authenticate(token);
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new AppError('UNAUTHORIZED', 'not signed in');
  return req.actor;
}
