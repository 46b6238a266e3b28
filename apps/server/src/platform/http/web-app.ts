import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { App } from './server.js';

/** The built dashboard (apps/web/dist), next to the server in the repository. */
export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../web/dist');

/**
 * Serves the dashboard at `/` with a single-page-app fallback: any GET that is
 * not an API, docs, MQTT or metrics path gets index.html. Without a build,
 * `/` goes to the API docs.
 */
export async function registerWebApp(app: App, dir = WEB_DIST): Promise<boolean> {
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) {
    app.get('/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/api/docs'));
    return false;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    // Vite names assets by content hash: they never change, so browsers may keep them for a year.
    setHeaders: (res, file) => {
      res.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const html = fs.readFileSync(index);
  const isBackend = (url: string) => /^\/(api|mqtt|metrics|healthz|readyz)(\/|\?|$)/.test(url);
  app.get('/*', { schema: { hide: true } }, (req, reply) => {
    const url = req.url;
    if (isBackend(url)) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for GET ${url.split('?')[0]}` } });
    // Hashed assets are immutable; a missing one is a real 404, not the app.
    if (url.startsWith('/assets/')) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such asset' } });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });
  return true;
}
