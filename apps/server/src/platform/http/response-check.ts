/**
 * The test-time guard of the REST contract: every JSON answer is checked against
 * its route's response schema, and against what the schema's serializer makes of
 * it (a serializer silently drops properties the schema does not name).
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { HttpError } from './errors.js';
import type { App } from './server.js';

export interface ResponseViolation {
  route: string;
  status: number;
  problem: string;
}

type ResponseSchemas = Record<string, TSchema | undefined>;

/** The key Fastify serializes this status with: the code, its class (`4xx`), or `default`. */
const schemaKey = (schemas: ResponseSchemas | undefined, status: number): string | undefined =>
  [String(status), `${Math.floor(status / 100)}xx`, 'default'].find((k) => schemas?.[k]);

function check(req: FastifyRequest, reply: FastifyReply, payload: unknown): string | null {
  const schemas = (req.routeOptions.schema as { response?: ResponseSchemas } | undefined)?.response;
  const key = schemaKey(schemas, reply.statusCode);
  if (!key) return 'no response schema for this status';
  const schema = schemas![key]!;
  if ((schema as { content?: unknown }).content) return null; // per-media-type answers are not JSON objects
  const plain: unknown = JSON.parse(JSON.stringify(payload) ?? 'null');
  if (!Value.Check(schema, plain)) {
    const errors = [...Value.Errors(schema, plain)].slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`);
    return `does not match its schema: ${errors.join('; ')}`;
  }
  let serialized: unknown;
  try {
    serialized = JSON.parse(reply.serializeInput(payload as Record<string, unknown>, key) as string);
  } catch (err) {
    return `the serializer failed: ${(err as Error).message}`;
  }
  if (!isDeepStrictEqual(serialized, plain))
    return `the serializer changes it (a property the schema does not name?): ${JSON.stringify(plain).slice(0, 300)} → ${JSON.stringify(serialized).slice(0, 300)}`;
  return null;
}

export function checkResponsesAgainstSchemas(app: App, violations: ResponseViolation[]): void {
  app.addHook('preSerialization', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const url = req.routeOptions.url;
    if (!url || (req.routeOptions.schema as { hide?: boolean } | undefined)?.hide) return payload;
    const problem = check(req, reply, payload);
    if (problem) {
      const v = { route: `${req.method} ${url}`, status: reply.statusCode, problem };
      violations.push(v);
      // A success that breaks its schema fails the request itself, so the test that made it sees it;
      // a missing schema fails the test file when its server closes (helpers.ts).
      if (reply.statusCode < 400 && !problem.startsWith('no response schema'))
        throw new HttpError(500, 'INTERNAL', `response contract: ${v.route} ${v.status} ${problem}`);
    }
    return payload;
  });
}
