import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { AuditPage, AuditQuery } from './audit.schemas.js';
import type { AuditService } from './audit.service.js';

/** The audit log (issue 17). Registered inside an authenticated scope. */
export function auditRoutes(audit: AuditService) {
  return async (app: App) => {
    app.get(
      '/api/v1/audit',
      {
        schema: {
          tags: ['audit'],
          description:
            'Who did what, to what, when and from where in the org: every write by a user or API key, and sign-ins (failed ones too). ' +
            'Newest first; page with `before`. Admin and owner only (403 FORBIDDEN). Never holds a secret.',
          querystring: AuditQuery,
          response: { 200: AuditPage },
        },
      },
      (req) => audit.list(actorOf(req), req.query),
    );
  };
}
