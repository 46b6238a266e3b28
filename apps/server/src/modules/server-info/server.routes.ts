import type { Registry } from 'prom-client';
import type { App } from '../../platform/http/server.js';
import { ServerInfo } from './server-info.schemas.js';

export interface ServerRoutesDeps {
  /** Each dependency of readiness: true up, false down, null not used by this node. */
  readiness: Record<string, () => boolean | null | Promise<boolean | null>>;
  /** The Prometheus registry, with its gauges set just before a scrape (readiness: the checks' answers now). */
  metrics(readiness: Readiness): Registry;
  info(): ServerInfo;
}

type Readiness = Record<string, boolean | null>;

async function checkReadiness(checks: ServerRoutesDeps['readiness']): Promise<Readiness> {
  const out: Readiness = {};
  for (const [name, check] of Object.entries(checks)) out[name] = await check();
  return out;
}

/**
 * The server's own routes: liveness (`/healthz`), readiness for load
 * balancers (`/readyz`: 503 while a dependency is down), Prometheus metrics,
 * the OpenAPI document, and what devices and the dashboard need to connect.
 */
export function serverRoutes(deps: ServerRoutesDeps) {
  return async (app: App) => {
    app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      const checks = await checkReadiness(deps.readiness);
      const ok = Object.values(checks).every((c) => c !== false);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
    });
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      // Readiness as gauges too, so that an alert sees what a load balancer sees (deploy/prometheus/alerts.yaml).
      const registry = deps.metrics(await checkReadiness(deps.readiness));
      return reply.type(registry.contentType).send(await registry.metrics());
    });
    app.get('/api/docs/openapi.json', { schema: { hide: true } }, () => app.swagger());
    // Public: what a device or the dashboard needs to know to connect.
    app.get(
      '/api/v1/server-info',
      {
        schema: { tags: ['server'], security: [], description: 'Version and the MQTT endpoints devices connect to.', response: { 200: ServerInfo } },
      },
      () => deps.info(),
    );
  };
}
