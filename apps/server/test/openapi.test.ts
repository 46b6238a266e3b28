/**
 * The REST contract from one source: every operation documents its answers, the
 * document is valid OpenAPI, and the committed document and client types are the
 * ones the route schemas give. (Each answer is checked against its schema by the
 * test server itself: helpers.ts turns on `checkResponses`.)
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfig, lintFromString } from '@redocly/openapi-core';
// @ts-expect-error: a plain .mjs script, typed by its use here
import { committedDocument, DOCUMENT_FILE, TYPES_FILE, typesFromDocument } from '../scripts/openapi.mjs';
import { httpJson, startServer, type TestServer } from './helpers.js';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
type Operation = { responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> };
let s: TestServer;
let doc: { paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  s = await startServer();
  const res = await httpJson(`${s.httpUrl}/api/docs/openapi.json`);
  expect(res.status).toBe(200);
  doc = res.body as typeof doc;
});
afterAll(async () => {
  await s?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => ({ name: `${m.toUpperCase()} ${p}`, op: item[m]! })));

describe('the OpenAPI document', () => {
  it('describes a success answer and the error answers of every operation', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(50);
    const undocumented = ops
      .filter(({ op }) => {
        const codes = Object.keys(op.responses ?? {});
        const success = codes.filter((c) => /^2/.test(c));
        // @fastify/swagger writes a bare "Default Response" for a route that declares no schema.
        const described = success.some((c) => {
          const r = op.responses![c]!;
          return c === '204' || Object.values(r.content ?? {}).some((m) => m.schema) || (r.description !== undefined && r.description !== 'Default Response');
        });
        return !described || !codes.includes('4XX');
      })
      .map(({ name }) => name);
    expect(undocumented).toEqual([]);
  });

  it('is valid OpenAPI 3.1 with no lint errors', async () => {
    const config = await createConfig({ extends: ['minimal'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).toEqual([]);
  });

  it('is the committed copy, and the API client types are generated from it (else run `npm run openapi`)', async () => {
    expect(fs.readFileSync(DOCUMENT_FILE, 'utf8')).toBe(committedDocument(doc));
    expect(fs.readFileSync(TYPES_FILE, 'utf8')).toBe(await typesFromDocument(doc));
  });
});
