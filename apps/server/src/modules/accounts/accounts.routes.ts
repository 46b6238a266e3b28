import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireActor } from './request-actor.js';
import { AppError } from '../errors.js';
import { secretLimits, type SecretLimits } from '../../platform/http/rate-limits.js';
import { NoContent } from '../../platform/http/schemas.js';
import { ApiKeyList, CreatedApiKey, Me, Org, OrgList, PublicUser, Role, Session, UserPage } from './accounts.schemas.js';
import type { AccountsService } from './accounts.service.js';

const Page = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), offset: Type.Optional(Type.Integer({ minimum: 0 })) });
const IdParam = Type.Object({ id: Type.String() });

export function accountsRoutes(accounts: AccountsService, opts: { allowSignup: boolean; limits: SecretLimits }) {
  return async (app: App) => {
    // Public: sign-in, refresh, sign-up.
    // Each attempt costs an argon2 hash: limited per IP and per e-mail before it is checked.
    const loginLimits = secretLimits(app, opts.limits, (req) => {
      const email = (req.body as { email?: unknown } | undefined)?.email;
      return typeof email === 'string' ? email.trim().toLowerCase() : null;
    });
    app.post(
      '/api/v1/auth/login',
      {
        preHandler: loginLimits,
        schema: {
          tags: ['auth'],
          security: [],
          body: Type.Object({ email: Type.String({ minLength: 1 }), password: Type.String({ minLength: 1 }), orgId: Type.Optional(Type.String()) }),
          response: { 200: Session },
        },
      },
      (req) => accounts.login(req.body.email, req.body.password, req.body.orgId, req.ip),
    );

    app.post(
      '/api/v1/auth/refresh',
      {
        schema: { tags: ['auth'], security: [], body: Type.Object({ refreshToken: Type.String({ minLength: 1 }) }), response: { 200: Session } },
      },
      (req) => accounts.refresh(req.body.refreshToken),
    );

    const resetLimits = secretLimits(app, opts.limits, (req) => {
      const email = (req.body as { email?: unknown } | undefined)?.email;
      return typeof email === 'string' ? `reset:${email.trim().toLowerCase()}` : null;
    });
    app.post(
      '/api/v1/auth/password-reset',
      {
        preHandler: resetLimits,
        schema: {
          tags: ['auth'],
          security: [],
          description:
            'E-mails a link to choose a new password (valid for an hour, once) when an account has this address. The answer is 202 either way, ' +
            'so it does not tell which addresses have accounts. 400 SMTP_NOT_CONFIGURED when the server cannot send e-mail.',
          body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }, { additionalProperties: false }),
          response: { 202: NoContent },
        },
      },
      async (req, reply) => {
        await accounts.requestPasswordReset(req.body.email, req.ip);
        return reply.status(202).send(null);
      },
    );
    app.post(
      '/api/v1/auth/password-reset/confirm',
      {
        preHandler: resetLimits,
        schema: {
          tags: ['auth'],
          security: [],
          description: 'Sets the new password with the token from the e-mailed link; every session of the account ends. 400 RESET_TOKEN_INVALID.',
          body: Type.Object(
            { token: Type.String({ minLength: 10, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
            { additionalProperties: false },
          ),
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        await accounts.confirmPasswordReset(req.body.token, req.body.password, req.ip);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/v1/auth/signup',
      {
        schema: {
          tags: ['auth'],
          security: [],
          description: 'Creates an org and its owner. Enabled with TETHER_ALLOW_SIGNUP=true.',
          body: Type.Object({
            orgName: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.String(),
            password: Type.String(),
            name: Type.Optional(Type.String({ maxLength: 200 })),
          }),
          response: { 201: Session },
        },
      },
      async (req, reply) => {
        if (!opts.allowSignup) throw new AppError('FORBIDDEN', 'sign-up is disabled on this server');
        return reply.status(201).send(await accounts.signup(req.body, req.ip));
      },
    );

    app.register(async (scoped: App) => {
      scoped.addHook('onRequest', requireActor(accounts));

      scoped.get('/api/v1/users/me', { schema: { tags: ['users'], response: { 200: Me } } }, (req) => accounts.me(actorOf(req)));
      scoped.get('/api/v1/users', { schema: { tags: ['users'], querystring: Page, response: { 200: UserPage } } }, (req) =>
        accounts.listUsers(actorOf(req), req.query.limit, req.query.offset),
      );
      scoped.post(
        '/api/v1/users',
        {
          schema: {
            tags: ['users'],
            body: Type.Object({
              email: Type.String(),
              password: Type.String(),
              name: Type.Optional(Type.String({ maxLength: 200 })),
              role: Type.Optional(Role),
            }),
            response: { 201: PublicUser },
          },
        },
        async (req, reply) => reply.status(201).send(await accounts.createUser(actorOf(req), { ...req.body, role: req.body.role ?? 'viewer' })),
      );
      scoped.get('/api/v1/users/:id', { schema: { tags: ['users'], params: IdParam, response: { 200: PublicUser } } }, (req) =>
        accounts.getUser(actorOf(req), req.params.id),
      );
      scoped.put(
        '/api/v1/users/:id',
        {
          schema: {
            tags: ['users'],
            params: IdParam,
            body: Type.Object(
              {
                name: Type.Optional(Type.String({ maxLength: 200 })),
                password: Type.Optional(Type.String()),
                role: Type.Optional(Role),
                disabled: Type.Optional(Type.Boolean()),
              },
              { additionalProperties: false },
            ),
            response: { 200: PublicUser },
          },
        },
        (req) => accounts.updateUser(actorOf(req), req.params.id, req.body),
      );

      scoped.delete(
        '/api/v1/users/:id',
        {
          schema: {
            tags: ['users'],
            description:
              'Removes the user from this org (their account and other orgs stay); a user may remove themselves (leave). ' +
              'Admins remove members up to their own role; the last owner cannot be removed (409 CONFLICT).',
            params: IdParam,
            response: { 204: NoContent },
          },
        },
        async (req, reply) => {
          await accounts.removeMember(actorOf(req), req.params.id);
          return reply.status(204).send(null);
        },
      );
      scoped.post(
        '/api/v1/auth/switch-org',
        {
          schema: {
            tags: ['auth'],
            description: 'A user who belongs to several orgs gets a session in another of them. 404 ORG_NOT_FOUND when they are not a member.',
            body: Type.Object({ orgId: Type.String() }, { additionalProperties: false }),
            response: { 200: Session },
          },
        },
        (req) => accounts.switchOrg(actorOf(req), req.body.orgId),
      );

      scoped.get('/api/v1/orgs', { schema: { tags: ['orgs'], response: { 200: OrgList } } }, async (req) => ({ items: await accounts.listOrgs(actorOf(req)) }));
      scoped.post(
        '/api/v1/orgs',
        {
          schema: { tags: ['orgs'], body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 201: Org } },
        },
        async (req, reply) => reply.status(201).send(await accounts.createOrg(actorOf(req), req.body.name)),
      );

      scoped.get('/api/v1/api-keys', { schema: { tags: ['api-keys'], response: { 200: ApiKeyList } } }, async (req) => ({
        items: await accounts.listApiKeys(actorOf(req)),
      }));
      scoped.post(
        '/api/v1/api-keys',
        {
          schema: {
            tags: ['api-keys'],
            description: 'The key is in the response once; only its hash is stored.',
            body: Type.Object({
              name: Type.String({ minLength: 1, maxLength: 200 }),
              role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')])),
            }),
            response: { 201: CreatedApiKey },
          },
        },
        async (req, reply) => reply.status(201).send(await accounts.createApiKey(actorOf(req), { name: req.body.name, role: req.body.role ?? 'viewer' })),
      );
      scoped.delete('/api/v1/api-keys/:id', { schema: { tags: ['api-keys'], params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
        await accounts.revokeApiKey(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      });
    });
  };
}
