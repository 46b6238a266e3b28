import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const WebhookConfig = Type.Object(
  { url: Type.String({ maxLength: 2000, description: 'http(s) URL that receives a POST with the JSON body' }) },
  { additionalProperties: false },
);
export const EmailConfig = Type.Object(
  {
    to: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 50, description: 'E-mail addresses' })),
    users: Type.Optional(Type.Array(Type.String(), { maxItems: 50, description: 'Members of the org, by id: mailed at their address at the time' })),
    roles: Type.Optional(
      Type.Array(Type.Enum(['owner', 'admin', 'operator', 'viewer'] as const), {
        maxItems: 4,
        description: 'Every member who holds one of these roles when the notification is sent',
      }),
    ),
  },
  { additionalProperties: false, description: 'At least one of to, users, roles' },
);

export const NotificationTarget = Type.Object({
  id: Uuid,
  name: Type.String(),
  kind: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
  config: Type.Union([WebhookConfig, EmailConfig], { description: 'webhook: {url}; email: {to}. A webhook secret is shown only when it is made' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type NotificationTarget = Static<typeof NotificationTarget>;

export const CreatedNotificationTarget = Type.Object({
  ...NotificationTarget.properties,
  secret: Type.Union([Type.String(), Type.Null()], {
    description: 'webhook: the HMAC-SHA256 key of X-Tether-Signature, shown this once (store it with the receiver); email: null',
  }),
});

export const NotificationTargetInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
    config: Type.Union([WebhookConfig, EmailConfig]),
  },
  { additionalProperties: false },
);
export type NotificationTargetInput = Static<typeof NotificationTargetInput>;

export const NotificationTargetList = Type.Object({ items: Type.Array(NotificationTarget) });

export const NotificationDelivery = Type.Object({
  id: Uuid,
  targetId: Type.Union([Uuid, Type.Null()]),
  alarmId: Type.Union([Uuid, Type.Null()]),
  event: Type.String({ description: 'alarm.raised, alarm.cleared, alarm.escalated, alarm.summary or test' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('summarised')], {
    description:
      "failed: the last attempt failed; retries continue with backoff until they run out. summarised: held back by the rule's storm limit, counted in the summary sent after the hour",
  }),
  deliverAfter: Type.Union([Timestamp, Type.Null()], { description: "Held by the rule's quiet hours until then" }),
  attempts: Type.Integer(),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()], { description: "The webhook receiver's HTTP status, or the SMTP reply code" }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  deliveredAt: NullableTimestamp,
});
export type NotificationDelivery = Static<typeof NotificationDelivery>;
export const NotificationDeliveryPage = Page(NotificationDelivery);

titled({ NotificationTarget, CreatedNotificationTarget, NotificationTargetInput, NotificationTargetList, NotificationDelivery, NotificationDeliveryPage });
