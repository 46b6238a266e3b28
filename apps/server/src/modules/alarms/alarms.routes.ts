import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import { AlarmCounts, AlarmDetail, AlarmPage, AlarmQuery, AlarmRule, AlarmRuleInput, AlarmRuleList, RulePreview, RulePreviewInput } from './alarms.schemas.js';
import type { AlarmsService } from './alarms.service.js';
import type { RulesService } from './rules.service.js';

const IdParam = Type.Object({ id: Type.String() });
const Comment = Type.Object({ comment: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });

/** Alarm rules and alarms (issue 13). Registered inside an authenticated scope. */
export function alarmsRoutes(rules: RulesService, alarms: AlarmsService) {
  return async (app: App) => {
    const tags = ['alarms'];
    app.get('/api/v1/alarm-rules', { schema: { tags, response: { 200: AlarmRuleList } } }, (req) => rules.list(actorOf(req)));
    app.post(
      '/api/v1/alarm-rules',
      {
        schema: {
          tags,
          description:
            'Creates a rule. 400 RULE_INVALID (malformed), RULE_IMPOSSIBLE (a condition that can never hold, or a clear that holds with it), RULE_UNKNOWN_KEY (no covered device reports the key and no template declares it).',
          body: AlarmRuleInput,
          response: { 201: AlarmRule },
        },
      },
      async (req, reply) => reply.status(201).send(await rules.create(actorOf(req), req.body)),
    );
    app.post(
      '/api/v1/alarm-rules/preview',
      {
        schema: {
          tags,
          description: 'Replays a threshold or rate rule over one device\'s history of its key (default: the last 24 h): "would have fired 3 times"',
          body: RulePreviewInput,
          response: { 200: RulePreview },
        },
      },
      (req) => rules.preview(actorOf(req), req.body),
    );
    app.get('/api/v1/alarm-rules/:id', { schema: { tags, params: IdParam, response: { 200: AlarmRule } } }, (req) => rules.get(actorOf(req), req.params.id));
    app.put(
      '/api/v1/alarm-rules/:id',
      { schema: { tags, params: IdParam, body: Type.Omit(AlarmRuleInput, ['scope', 'scopeId']), response: { 200: AlarmRule } } },
      (req) => rules.update(actorOf(req), req.params.id, req.body),
    );
    app.delete('/api/v1/alarm-rules/:id', { schema: { tags, params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
      await rules.delete(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    });

    app.get('/api/v1/alarms', { schema: { tags, querystring: AlarmQuery, response: { 200: AlarmPage } } }, (req) => alarms.list(actorOf(req), req.query));
    app.get('/api/v1/alarms/counts', { schema: { tags, response: { 200: AlarmCounts } } }, (req) => alarms.counts(actorOf(req)));
    app.get('/api/v1/alarms/:id', { schema: { tags, params: IdParam, response: { 200: AlarmDetail } } }, (req) => alarms.get(actorOf(req), req.params.id));
    app.post('/api/v1/alarms/:id/acknowledge', { schema: { tags, params: IdParam, body: Type.Optional(Comment), response: { 200: AlarmDetail } } }, (req) =>
      alarms.acknowledge(actorOf(req), req.params.id, req.body?.comment ?? null),
    );
    app.post('/api/v1/alarms/:id/clear', { schema: { tags, params: IdParam, body: Type.Optional(Comment), response: { 200: AlarmDetail } } }, (req) =>
      alarms.clear(actorOf(req), req.params.id, req.body?.comment ?? null),
    );
    app.post(
      '/api/v1/alarms/:id/assign',
      {
        schema: {
          tags,
          params: IdParam,
          body: Type.Object(
            {
              assigneeId: Type.Union([Type.String(), Type.Null()], { description: 'A member of the org, or null to unassign' }),
              comment: Type.Optional(Type.String({ maxLength: 2000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: AlarmDetail },
        },
      },
      (req) => alarms.assign(actorOf(req), req.params.id, req.body.assigneeId, req.body.comment ?? null),
    );
    app.post(
      '/api/v1/alarms/:id/comments',
      {
        schema: {
          tags,
          params: IdParam,
          body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
          response: { 200: AlarmDetail },
        },
      },
      (req) => alarms.comment(actorOf(req), req.params.id, req.body.comment),
    );
  };
}
