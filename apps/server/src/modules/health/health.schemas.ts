import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

const Selection = {
  projectId: Type.Optional(Type.String({ description: 'Only devices of this project' })),
  templateId: Type.Optional(Type.String({ description: 'Only devices of this template' })),
  tag: Type.Optional(Type.String({ maxLength: 64, description: 'Only devices with this tag' })),
};
const Minutes = Type.Optional(Type.Integer({ minimum: 1, maximum: 43200, description: 'Silent: no heartbeat for more than this many minutes (default 10)' }));
const Range = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (default: 30 days ago); rounded down to a UTC day' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End (default: now); rounded up to a UTC day' })),
};
const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
};

export const SilentQuery = Type.Object({
  ...Selection,
  ...Range,
  ...Paging,
  minutes: Minutes,
  series: Type.Optional(Type.Boolean({ description: 'Include the daily series over the range (default true)' })),
});
export type SilentQuery = Static<typeof SilentQuery>;
export const GapsQuery = Type.Object({
  ...Selection,
  ...Range,
  histogram: Type.Optional(
    Type.Boolean({
      description:
        'Include the maximum, histogram, median and p95 (default true: they read every device-day of the range); false answers the count and mean only, from running totals, fast on any fleet and range',
    }),
  ),
});
export type GapsQuery = Static<typeof GapsQuery>;
export const LifespanQuery = Type.Object({
  ...Selection,
  minutes: Minutes,
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Only devices first heard at or after this' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Only devices first heard before this' })),
});
export type LifespanQuery = Static<typeof LifespanQuery>;
export const DeviceHealthQuery = Type.Object({
  ...Selection,
  ...Range,
  ...Paging,
  minutes: Minutes,
  thresholdS: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 86400,
      description: 'Uptime: gaps longer than this are downtime (default: minutes × 60); raised to a histogram bound',
    }),
  ),
});
export type DeviceHealthQuery = Static<typeof DeviceHealthQuery>;

export const SilentDevices = Type.Object({
  minutes: Type.Integer(),
  at: Timestamp,
  devices: Type.Integer({ description: 'Devices in the selection' }),
  retired: Type.Integer({ description: 'Retired: not counted' }),
  neverHeard: Type.Integer({ description: 'Not retired, no heartbeat ever: not counted' }),
  monitored: Type.Integer({ description: 'Not retired and heard at least once: the share’s denominator' }),
  silent: Type.Integer({ description: 'Monitored devices whose last heartbeat is more than `minutes` old' }),
  share: Type.Union([Type.Number(), Type.Null()], { description: 'silent / monitored (0..1); null with no monitored device' }),
  items: Type.Array(Type.Object({ id: Uuid, name: Type.String(), lastHeartbeatAt: Timestamp, silentS: Type.Number() }), {
    description: 'Silent devices, most recently heard first (paged)',
  }),
  limit: Type.Integer(),
  offset: Type.Integer(),
  series: Type.Array(
    Type.Object({
      at: Timestamp,
      monitored: Type.Integer({ description: 'Heard before `at`, not retired by then' }),
      silent: Type.Integer(),
      share: Type.Union([Type.Number(), Type.Null()]),
    }),
    { description: 'At each UTC midnight of the range: the same share, as it was then (empty with series=false)' },
  ),
});
export type SilentDevices = Static<typeof SilentDevices>;

const GapStats = Type.Object({
  count: Type.Number({ description: 'Gaps (between two consecutive heartbeats) ending in the range' }),
  heartbeats: Type.Number(),
  meanS: Type.Union([Type.Number(), Type.Null()], { description: 'Exact mean' }),
  medianS: Type.Union([Type.Number(), Type.Null()], { description: 'Estimated from the histogram (exact to the bucket); null with histogram=false' }),
  p95S: Type.Union([Type.Number(), Type.Null()], { description: 'Estimated from the histogram (exact to the bucket)' }),
  maxS: Type.Union([Type.Number(), Type.Null()], { description: 'null with histogram=false' }),
});
export const GapHistogram = Type.Array(
  Type.Object({ fromS: Type.Number(), toS: Type.Union([Type.Number(), Type.Null()], { description: 'Exclusive; null: open' }), count: Type.Number() }),
);
export const FleetGaps = Type.Object({
  from: Timestamp,
  to: Timestamp,
  gaps: GapStats,
  histogram: GapHistogram,
});
export type FleetGaps = Static<typeof FleetGaps>;

export const DeviceHealth = Type.Object({
  id: Uuid,
  name: Type.String(),
  firstHeartbeatAt: NullableTimestamp,
  lastHeartbeatAt: NullableTimestamp,
  retiredAt: NullableTimestamp,
  silent: Type.Boolean({ description: 'Not retired, heard once, last heartbeat more than `minutes` ago' }),
  gaps: GapStats,
  histogram: GapHistogram,
  uptime: Type.Union([Type.Number(), Type.Null()], {
    description: 'Share (0..1) of the range (from the first heartbeat, to now or retirement) not spent in the part of a gap beyond thresholdS',
  }),
  thresholdS: Type.Number({ description: 'The uptime threshold applied (a histogram bound)' }),
});
export type DeviceHealth = Static<typeof DeviceHealth>;
export const DeviceHealthPage = Type.Object({
  from: Timestamp,
  to: Timestamp,
  items: Type.Array(DeviceHealth),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export type DeviceHealthPage = Static<typeof DeviceHealthPage>;

export const Lifespans = Type.Object({
  minutes: Type.Integer(),
  devices: Type.Integer({ description: 'Devices heard at least once' }),
  ended: Type.Integer({ description: 'Retired, or silent for more than `minutes`: lifespan first heartbeat → retirement or last heartbeat' }),
  alive: Type.Integer({ description: 'Censored: lifespan so far, first heartbeat → last heartbeat' }),
  meanEndedDays: Type.Union([Type.Number(), Type.Null()], { description: 'Mean of the ended lifespans' }),
  meanAllDays: Type.Union([Type.Number(), Type.Null()], { description: 'Mean over every device, alive ones at their age so far (a lower bound)' }),
  medianSurvivalDays: Type.Union([Type.Number(), Type.Null()], { description: 'Kaplan–Meier median; null while more than half survive' }),
  distribution: Type.Array(
    Type.Object({ fromDays: Type.Number(), toDays: Type.Union([Type.Number(), Type.Null()]), ended: Type.Integer(), alive: Type.Integer() }),
  ),
  survival: Type.Array(Type.Object({ days: Type.Number(), survival: Type.Number(), atRisk: Type.Integer(), ended: Type.Integer(), censored: Type.Integer() }), {
    description: 'Kaplan–Meier curve: share still alive after `days`; alive devices are censored',
  }),
});
export type Lifespans = Static<typeof Lifespans>;

export const AtRiskQuery = Type.Object({
  ...Selection,
  ...Paging,
  minScore: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1, description: 'Only warnings with at least this score (default 0.5, the detector’s threshold)' }),
  ),
});
export type AtRiskQuery = Static<typeof AtRiskQuery>;
export const AtRiskDevice = Type.Object({
  id: Uuid,
  name: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()]),
  templateId: Type.Union([Uuid, Type.Null()]),
  score: Type.Number({ description: '0..1; flagged at 0.5 and above' }),
  reasons: Type.Array(Type.String(), { description: 'Strongest first, e.g. "gaps grew from 60 s to 5 min over 3.2 h (EWMA 3.1× baseline 60 s)"' }),
  since: Timestamp,
  firstWarnedAt: Timestamp,
  assessedAt: Timestamp,
  lastHeartbeatAt: NullableTimestamp,
});
export const AtRiskDevices = Type.Object({
  scannedAt: NullableTimestamp,
  assessed: Type.Integer({ description: 'Devices the last scan judged (every device not retired and ever heard, all orgs)' }),
  scanMs: Type.Integer({ description: 'How long the last scan took' }),
  items: Type.Array(AtRiskDevice, { description: 'Highest score first (paged)' }),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export type AtRiskDevices = Static<typeof AtRiskDevices>;

export const DeviceGapsQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Default: 24 hours before `to`' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'The newest this many gaps (default 2,000)' })),
});
export type DeviceGapsQuery = Static<typeof DeviceGapsQuery>;
export const DeviceGaps = Type.Object({
  from: Timestamp,
  to: Timestamp,
  items: Type.Array(Type.Object({ at: Timestamp, gapS: Type.Number() }), {
    description: 'Each heartbeat in the range with the seconds since the one before, oldest first',
  }),
  truncated: Type.Boolean({ description: 'The range held more gaps than `limit`: only the newest are here' }),
});
export type DeviceGaps = Static<typeof DeviceGaps>;

titled({ SilentDevices, FleetGaps, DeviceHealth, DeviceHealthPage, Lifespans, GapHistogram, AtRiskDevices, AtRiskDevice, DeviceGaps });
