import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { SearchQuery, SearchResults } from './search.schemas.js';
import type { SearchService } from './search.service.js';

/** Registered inside an authenticated scope; any member (a viewer too) may search their org. */
export function searchRoutes(search: SearchService) {
  return async (app: App) => {
    app.get(
      '/api/v1/search',
      {
        schema: {
          tags: ['search'],
          description:
            "One search over the org's devices, projects and properties, case-insensitive, in three groups of at most `limit` each, " +
            'best first; each item says which field contains the text (`matched`). Another org’s never appear. ' +
            '400 VALIDATION_FAILED: q empty, only spaces, over 200 characters or with control characters.',
          querystring: SearchQuery,
          response: { 200: SearchResults },
        },
      },
      (req) => search.search(actorOf(req), req.query),
    );
  };
}
