import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/server.js';
import { secretLimits, type SecretLimits } from '../../platform/http/rate-limits.js';
import { NoContent } from '../../platform/http/schemas.js';
import { Session } from '../accounts/accounts.schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import {
  AcceptInvitation,
  CreateInvitation,
  CreatedInvitation,
  InvitationList,
  InvitationListQuery,
  InvitationPreview,
  InvitationTokenBody,
} from './teams.schemas.js';
import type { TeamsService } from './teams.service.js';

/** The dashboard the inviter works in: where the link points when TETHER_PUBLIC_URL is not set. */
const originOf = (req: FastifyRequest): string | null => {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && /^https?:\/\/[^/\s]+$/.test(origin)) return origin;
  return req.headers.host ? `${req.protocol}://${req.headers.host}` : null;
};

/** Invitations, for admins. Registered inside an authenticated scope. */
export function invitationRoutes(teams: TeamsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/invitations',
      {
        schema: {
          tags: ['teams'],
          description: 'The org’s invitations, newest first. Admin and owner only.',
          querystring: InvitationListQuery,
          response: { 200: InvitationList },
        },
      },
      async (req) => ({ items: await teams.list(actorOf(req), req.query.status, req.query.limit) }),
    );
    app.post(
      '/api/v1/invitations',
      {
        schema: {
          tags: ['teams'],
          description:
            'Invites an e-mail address into the org with a role (default viewer; up to the inviter’s own). The link is e-mailed (TETHER_SMTP_URL), ' +
            'works once for 7 days, and is in this response once. Inviting the same address again replaces its pending invitation. ' +
            '409 ALREADY_MEMBER when the address is a member already.',
          body: CreateInvitation,
          response: { 201: CreatedInvitation },
        },
      },
      async (req, reply) => reply.status(201).send(await teams.invite(actorOf(req), req.body, originOf(req))),
    );
    app.delete(
      '/api/v1/invitations/:id',
      {
        schema: {
          tags: ['teams'],
          description: 'Withdraws a pending invitation: its link stops working.',
          params: Type.Object({ id: Type.String() }),
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        await teams.revoke(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}

/** The invitation link's own endpoints: no sign-in, the token is the credential. Limited per IP. */
export function invitationTokenRoutes(teams: TeamsService, limits: SecretLimits) {
  return async (app: App) => {
    const perIp = secretLimits(app, limits, () => null);
    app.post(
      '/api/v1/auth/invitation',
      {
        preHandler: perIp,
        schema: {
          tags: ['teams'],
          security: [],
          description:
            'What an invitation link is for (org, role, whether the address has an account). 404 INVITATION_INVALID, 410 INVITATION_USED / INVITATION_REVOKED / INVITATION_EXPIRED.',
          body: InvitationTokenBody,
          response: { 200: InvitationPreview },
        },
      },
      (req) => teams.preview(req.body.token),
    );
    app.post(
      '/api/v1/auth/invitation/accept',
      {
        preHandler: perIp,
        schema: {
          tags: ['teams'],
          security: [],
          description:
            'Accepts an invitation and signs in to its org. An address with an account gives that account’s password (401 INVALID_CREDENTIALS otherwise); ' +
            'a new one chooses its password (8 characters or more) and name.',
          body: AcceptInvitation,
          response: { 200: Session },
        },
      },
      (req) => teams.accept(req.body, req.ip),
    );
  };
}
