import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';
import { ALARM_SEVERITIES } from './rule-logic.js';

export const AlarmSeverity = Type.Enum(ALARM_SEVERITIES, { description: 'critical, major, minor, warning or info' });
const Scope = Type.Union([Type.Literal('org'), Type.Literal('project'), Type.Literal('template'), Type.Literal('device')], {
  description: 'What the rule covers; of the rules of one name, the most specific that covers a device applies (device, project, template, org)',
});
const Kind = Type.Union(
  [Type.Literal('threshold'), Type.Literal('rate'), Type.Literal('no_data'), Type.Literal('device_alert'), Type.Literal('health_warning')],
  {
    description: 'health_warning: the fleet-health scan flags the device as at risk (heartbeat gaps trending up or irregular)',
  },
);

export const Comparison = Type.Object(
  {
    op: Type.Enum(['>', '>=', '<', '<=', 'between', 'outside'] as const),
    value: Type.Number(),
    value2: Type.Optional(Type.Number({ description: 'The upper bound of between and outside (inclusive)' })),
  },
  { additionalProperties: false },
);

const Condition = Type.Union(
  [
    Comparison,
    Type.Object(
      { direction: Type.Union([Type.Literal('rise'), Type.Literal('fall'), Type.Literal('any')]), by: Type.Number(), windowS: Type.Integer() },
      { additionalProperties: false, description: 'rate: the value moves by more than `by` within `windowS`' },
    ),
    Type.Object({ silentS: Type.Integer() }, { additionalProperties: false, description: 'no_data: nothing from the device for `silentS`' }),
    Type.Object(
      { minScore: Type.Number({ minimum: 0.5, maximum: 1 }) },
      { additionalProperties: false, description: 'health_warning: flagged with at least `minScore` (0.5..1)' },
    ),
    Type.Object({}, { additionalProperties: false, description: 'device_alert: none' }),
  ],
  { description: 'threshold: a comparison; rate: {direction, by, windowS}; no_data: {silentS}; health_warning: {minScore}; device_alert: {}' },
);
const Clear = Type.Union(
  [Comparison, Type.Object({ afterS: Type.Integer() }, { additionalProperties: false, description: 'device_alert: clears after this long without a repeat' })],
  { description: 'threshold: the comparison that clears it (hysteresis; without one it clears when the condition stops holding); device_alert: {afterS}' },
);

const RuleFields = {
  name: Type.String({ minLength: 1, maxLength: 200, description: 'Rules of one name at several scopes override each other' }),
  enabled: Type.Boolean(),
  kind: Kind,
  key: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], {
    description: 'threshold and rate: the telemetry key; device_alert: the alert type; no_data and health_warning: null',
  }),
  condition: Condition,
  clear: Type.Union([Clear, Type.Null()]),
  durationS: Type.Integer({ minimum: 0, maximum: 7 * 86_400, description: 'threshold: how long the condition must hold before the alarm is raised' }),
  severity: AlarmSeverity,
  message: Type.String({
    minLength: 1,
    maxLength: 500,
    description: 'With {{device.name}}, {{value}}, {{key}}, {{rule.name}}, {{alert.message}}; health_warning: {{score}}, {{reasons}}',
  }),
  notify: Type.Array(Uuid, { maxItems: 20, description: 'Notification targets told when an alarm of this rule is raised or cleared' }),
  escalate: Type.Union(
    [
      Type.Object(
        {
          afterS: Type.Integer({ minimum: 60, maximum: 7 * 86_400, description: 'Still unacknowledged this long after it was raised' }),
          notify: Type.Array(Uuid, { minItems: 1, maxItems: 20 }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ],
    { description: 'Tell these targets too when an alarm stays unacknowledged' },
  ),
  quietHours: Type.Union(
    [
      Type.Object(
        {
          from: Type.String({ description: 'HH:MM' }),
          to: Type.String({ description: 'HH:MM; earlier than from: overnight' }),
          timezone: Type.String({ description: 'IANA time zone, e.g. Europe/Amsterdam, or UTC' }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ],
    { description: 'Hold notifications while these hours last; they go out when the hours end' },
  ),
  stormLimit: Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Null()], {
    description: 'At most this many notifications an hour for the rule; the rest are summarised in one notification after the hour',
  }),
};

export const AlarmRule = Type.Object({
  id: Uuid,
  scope: Scope,
  scopeId: Type.Union([Uuid, Type.Null()], { description: 'The project, template or device; null for the org' }),
  ...RuleFields,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AlarmRule = Static<typeof AlarmRule>;

export const AlarmRuleInput = Type.Object(
  {
    scope: Scope,
    scopeId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    name: RuleFields.name,
    enabled: Type.Optional(RuleFields.enabled),
    kind: Kind,
    key: Type.Optional(RuleFields.key),
    condition: Condition,
    clear: Type.Optional(RuleFields.clear),
    durationS: Type.Optional(RuleFields.durationS),
    severity: AlarmSeverity,
    message: RuleFields.message,
    notify: Type.Optional(Type.Array(Type.String(), { maxItems: 20, description: 'Notification target ids' })),
    escalate: Type.Optional(RuleFields.escalate),
    quietHours: Type.Optional(RuleFields.quietHours),
    stormLimit: Type.Optional(RuleFields.stormLimit),
  },
  { additionalProperties: false },
);
export type AlarmRuleInput = Static<typeof AlarmRuleInput>;

export const AlarmRuleList = Type.Object({ items: Type.Array(AlarmRule) });

export const RulePreviewInput = Type.Object(
  {
    rule: Type.Omit(AlarmRuleInput, ['scope', 'scopeId', 'name', 'severity', 'message', 'notify', 'escalate', 'quietHours', 'stormLimit', 'enabled']),
    deviceId: Type.String(),
    from: Type.Optional(Type.String({ description: 'ISO 8601; default 24 h before `to`' })),
    to: Type.Optional(Type.String({ description: 'ISO 8601; default now' })),
  },
  { additionalProperties: false },
);
export type RulePreviewInput = Static<typeof RulePreviewInput>;

export const RulePreview = Type.Object({
  deviceId: Uuid,
  from: Timestamp,
  to: Timestamp,
  points: Type.Integer({ description: 'Values of the key replayed' }),
  truncated: Type.Boolean({ description: 'More values than a preview replays (100,000): only the newest were' }),
  fired: Type.Integer({ description: 'How many alarms the rule would have raised' }),
  occurrences: Type.Array(
    Type.Object({
      raisedAt: Timestamp,
      clearedAt: Type.Union([Timestamp, Type.Null()]),
      count: Type.Integer(),
      peak: Type.Number({ description: 'The value furthest past the condition' }),
    }),
  ),
});
export type RulePreview = Static<typeof RulePreview>;

export const AlarmState = Type.Union([Type.Literal('active'), Type.Literal('acknowledged'), Type.Literal('cleared_unacknowledged'), Type.Literal('cleared')], {
  description: 'active → acknowledged → cleared; cleared_unacknowledged: cleared before anyone acknowledged it',
});

export const Alarm = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  deviceName: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()]),
  ruleId: Type.Union([Uuid, Type.Null()], { description: 'Null once the rule is deleted' }),
  ruleName: Type.String(),
  severity: AlarmSeverity,
  state: AlarmState,
  message: Type.String(),
  value: Type.Unknown({ description: 'The value that raised it, or last repeated it' }),
  count: Type.Integer({ description: 'How many times it was raised or repeated while open' }),
  raisedAt: Timestamp,
  lastSeenAt: Timestamp,
  acknowledgedAt: NullableTimestamp,
  acknowledgedBy: Type.Union([Uuid, Type.Null()]),
  clearedAt: NullableTimestamp,
  clearedBy: Type.Union([Uuid, Type.Null()], { description: 'Null when Tether cleared it' }),
  assigneeId: Type.Union([Uuid, Type.Null()]),
});
export type Alarm = Static<typeof Alarm>;

export const AlarmPage = Page(Alarm);
export type AlarmPage = Static<typeof AlarmPage>;

export const AlarmHistoryEntry = Type.Object({
  at: Timestamp,
  action: Type.Enum(['raised', 'acknowledged', 'cleared', 'assigned', 'commented', 'escalated'] as const),
  userId: Type.Union([Uuid, Type.Null()], { description: 'Null: Tether itself' }),
  comment: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown(),
});
export const AlarmDetail = Type.Object({ ...Alarm.properties, history: Type.Array(AlarmHistoryEntry) });
export type AlarmDetail = Static<typeof AlarmDetail>;

export const AlarmQuery = Type.Object({
  state: Type.Optional(Type.String({ description: 'Comma-separated: open (active or acknowledged), active, acknowledged, cleared_unacknowledged, cleared' })),
  severity: Type.Optional(Type.String({ description: 'Comma-separated severities' })),
  deviceId: Type.Optional(Type.String()),
  projectId: Type.Optional(Type.String()),
  ruleId: Type.Optional(Type.String()),
  from: Type.Optional(Type.String({ description: 'Raised at or after (ISO 8601)' })),
  to: Type.Optional(Type.String({ description: 'Raised before (ISO 8601)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type AlarmQuery = Static<typeof AlarmQuery>;

export const AlarmCounts = Type.Object({
  open: Type.Record(Type.String(), Type.Integer(), { description: 'Open alarms (active or acknowledged) by severity' }),
  unacknowledged: Type.Integer({ description: 'Open or cleared alarms nobody has acknowledged' }),
});

titled({
  Comparison,
  AlarmRule,
  AlarmRuleInput,
  AlarmRuleList,
  RulePreviewInput,
  RulePreview,
  AlarmState,
  Alarm,
  AlarmPage,
  AlarmHistoryEntry,
  AlarmDetail,
  AlarmCounts,
});
