import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isDatabaseUnavailable } from '../db/database.js';
import type { Logger } from '../observability/logger.js';
import { assertStorableJson, UnstorableJsonError } from '../json/storable.js';
import { HttpError, isCodedError } from './errors.js';
import { registerRateLimits } from './rate-limits.js';
import { checkResponsesAgainstSchemas, type ResponseViolation } from './response-check.js';
import { ErrorBody } from './schemas.js';
import { hoistTitledSchemas } from './openapi-components.js';

export type App = FastifyInstance<any, any, any, Logger, TypeBoxTypeProvider>; // eslint-disable-line @typescript-eslint/no-explicit-any

declare module 'fastify' {
  interface FastifyInstance {
    /** Filled only with `checkResponses` (tests). */
    responseViolations: ResponseViolation[];
  }
}

export interface HttpOptions {
  logger: Logger;
  bodyLimit: number;
  https?: { cert: Buffer; key: Buffer } | null;
  publicUrl?: string | null;
  /**
   * Tests: compare every JSON answer with its route's response schema, and record what
   * does not match (or has no schema) in `responseViolations`. Off in production: the
   * schemas serialize the answers there.
   */
  checkResponses?: boolean;
}

const bearer = (req: FastifyRequest): string | null => {
  const h = req.headers.authorization;
  if (h && /^bearer /i.test(h)) return h.slice(7).trim();
  return null;
};
export const bearerToken = bearer;

/**
 * The HTTP server without routes: error mapping, OpenAPI, WebSocket support.
 * Not listening yet, so tests can `inject()`.
 */
export async function createHttpServer(opts: HttpOptions): Promise<App> {
  const fastifyOpts: FastifyServerOptions = {
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    trustProxy: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  };
  const app = (opts.https
    ? Fastify({ ...fastifyOpts, https: opts.https } as FastifyServerOptions)
    : Fastify(fastifyOpts)
  ).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  // Who made the request: typed and set by the accounts module's hook (modules/accounts/request-actor.ts).
  app.decorateRequest('actor', null);

  // Every documented route answers errors in one shape; a route may still describe its own.
  // A query parameter a route does not know is a 400 naming it, not silently ignored
  // (`/devices?active=true` must not answer every device).
  app.addHook('onRoute', (route) => {
    const query = (route.schema as { querystring?: { type?: string; additionalProperties?: unknown } } | undefined)?.querystring;
    if (query?.type === 'object') query.additionalProperties ??= false;
    if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
    const response = ((route.schema as { response?: Record<string, unknown> }).response ??= {});
    response['4xx'] ??= ErrorBody;
    response['5xx'] ??= ErrorBody;
  });
  // PostgreSQL refuses a NUL in text, so a query parameter or path segment holding one failed its
  // query with a 500 (`/properties?value=a%00`); no route has a use for one.
  app.addHook('onRequest', async (req, reply) => {
    if (/%00/i.test(req.url)) {
      return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: 'the URL contains a NUL character (%00)' } });
    }
  });
  const violations: ResponseViolation[] = [];
  app.decorate('responseViolations', violations);
  if (opts.checkResponses) checkResponsesAgainstSchemas(app, violations);

  // Fastify's JSON parser (prototype-poisoning checks included), then what the database could not
  // store: a body with \u0000, a lone surrogate or deep nesting is a 400, not a failed query.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parseJson(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err);
      try {
        assertStorableJson(value);
      } catch (e) {
        if (e instanceof UnstorableJsonError) return done(new HttpError(400, 'INVALID_PAYLOAD', e.message));
        return done(e as Error);
      }
      done(null, value);
    });
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: unknown }, req, reply) => {
    if (isCodedError(err)) {
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    if (err.validation) {
      const v = (err.validation as { keyword?: string; params?: { additionalProperty?: string } }[])[0];
      const unknown = (err as { validationContext?: string }).validationContext === 'querystring' && v?.keyword === 'additionalProperties';
      const message = unknown ? `unknown query parameter "${v.params?.additionalProperty}"` : err.message;
      return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .status(413)
        .send({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body is larger than ${req.routeOptions?.bodyLimit ?? opts.bodyLimit} bytes` } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json' } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.name === 'SyntaxError' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'INVALID_PAYLOAD'
          : 'VALIDATION_FAILED';
      return reply.status(err.statusCode).send({ error: { code, message: err.message } });
    }
    if (isDatabaseUnavailable(err)) {
      // A database restart or failover: say so, and when to come back, instead of a 500.
      req.log.warn({ err: err.message, url: req.url }, 'request failed: database unavailable');
      return reply
        .status(503)
        .header('retry-after', '5')
        .send({ error: { code: 'UNAVAILABLE', message: 'the database is unavailable; retry' } });
    }
    // 5xx: log the detail, never send it.
    req.log.error({ err, url: req.url }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]}` } }),
  );

  // Security headers on every answer. The dashboard is a built bundle: scripts and styles from
  // this origin only; images also from blobs (photo previews) and the map's tile server.
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:', 'https://tile.openstreetmap.org'],
        'connect-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        // Plain HTTP is the embedded default: upgrading would break every request.
        'upgrade-insecure-requests': opts.https ? [] : null,
      },
    },
    strictTransportSecurity: opts.https ? { maxAge: 180 * 86400 } : false,
  });
  // gzip/brotli for JSON and the dashboard's assets; small bodies are not worth it.
  await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip'] });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tether API', version: '0.1.0', description: 'REST API of the Tether IoT platform. Errors are `{"error":{"code","message"}}`.' },
      servers: opts.publicUrl ? [{ url: opts.publicUrl }] : [],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'User access token, API key (tk_…), or device token (dt_…) on /api/v1/device/*' },
        },
      },
      security: [{ bearer: [] }],
    },
    transformObject: (doc) => hoistTitledSchemas((doc as { openapiObject: Record<string, unknown> }).openapiObject) as never,
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    // Swagger UI adds <style> elements at run time: its pages alone allow inline styles.
    transformStaticCSP: (header) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  });
  await registerRateLimits(app);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  return app;
}
