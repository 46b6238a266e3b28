import { OTA_JOB_STATES } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid } from '../../platform/http/schemas.js';

const JobState = Type.Enum(OTA_JOB_STATES, {
  description: 'pending → notified → downloading → downloaded → installing → installed | failed | timed-out | cancelled',
});

export const MaintenanceWindowSchema = Type.Object(
  {
    start: Type.String({ description: 'Local time of day it opens, HH:MM' }),
    end: Type.String({ description: 'Local time of day it closes, HH:MM; before start: it runs past midnight; equal to start: the whole day' }),
    timezone: Type.String({ description: 'IANA time zone, like Europe/Berlin or UTC' }),
    days: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, description: 'Days it opens on, 0 = Sunday; every day by default' }),
    ),
  },
  { additionalProperties: false, description: 'Devices are told of their job only while the window is open; a job under way goes on' },
);

const GroupSpec = Type.Union([
  Type.Object(
    { percent: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'Share of the deployment reached once this group is done (cumulative)' }) },
    { additionalProperties: false },
  ),
  Type.Object({ count: Type.Integer({ minimum: 1, description: 'Devices in this group' }) }, { additionalProperties: false }),
]);

export const DeploymentInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Default: the firmware version and the fleet name' })),
    firmwareId: Type.String(),
    fleetId: Type.String({ description: 'Its devices now are copied into the deployment; later changes to the fleet do not move it' }),
    groups: Type.Optional(
      Type.Array(GroupSpec, {
        minItems: 1,
        maxItems: 100,
        description:
          'Rollout groups in order, like [{percent:1},{percent:10},{percent:50},{percent:100}] or fixed counts; the last takes the rest. Default: one group',
      }),
    ),
    successThreshold: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 100,
        description:
          'Percent of a group installed before the next group starts (it also starts once every device of the group has ended within the error threshold)',
      }),
    ),
    errorThreshold: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        default: 10,
        description: 'Percent of a group failed or timed out past which the whole deployment stops (emergency stop)',
      }),
    ),
    deviceTimeoutS: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 30 * 86400,
        default: 86400,
        description: 'Seconds a device has, from the start of its group, to report the new version; then it is timed-out',
      }),
    ),
    maintenanceWindow: Type.Optional(MaintenanceWindowSchema),
    paused: Type.Optional(Type.Boolean({ description: 'Made paused: nothing is sent until it is resumed' })),
  },
  { additionalProperties: false },
);
export type DeploymentInput = Static<typeof DeploymentInput>;

const StateCounts = Type.Object(
  Object.fromEntries(OTA_JOB_STATES.map((s) => [s, Type.Integer()])) as Record<(typeof OTA_JOB_STATES)[number], ReturnType<typeof Type.Integer>>,
);

export const DeploymentGroup = Type.Object({
  index: Type.Integer({ description: '0-based' }),
  size: Type.Integer(),
  status: Type.Union([Type.Literal('waiting'), Type.Literal('running'), Type.Literal('done')]),
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
  counts: StateCounts,
});

export const Deployment = Type.Object({
  id: Uuid,
  name: Type.String(),
  firmware: Type.Object({ id: Uuid, version: Type.String() }),
  fleetId: Type.Union([Uuid, Type.Null()]),
  status: Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('stopped'), Type.Literal('cancelled'), Type.Literal('completed')], {
    description: 'stopped: the error threshold was passed (stopReason says where)',
  }),
  stopReason: Type.Union([Type.String(), Type.Null()]),
  successThreshold: Type.Integer(),
  errorThreshold: Type.Integer(),
  deviceTimeoutS: Type.Integer(),
  maintenanceWindow: Type.Union([MaintenanceWindowSchema, Type.Null()]),
  currentGroup: Type.Integer(),
  total: Type.Integer(),
  counts: StateCounts,
  groups: Type.Array(DeploymentGroup),
  createdBy: Type.Union([Uuid, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: NullableTimestamp,
});
export type Deployment = Static<typeof Deployment>;

export const DeploymentCreated = Type.Intersect([
  Deployment,
  Type.Object({
    skipped: Type.Object({ alreadyAtVersion: Type.Integer({ description: 'Fleet devices already reporting the version, left out' }) }),
  }),
]);

export const DeploymentList = Type.Object({ items: Type.Array(Deployment) });
export const DeploymentListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('stopped'), Type.Literal('cancelled'), Type.Literal('completed')]),
    ),
    firmwareId: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

export const DeploymentJob = Type.Object({
  deviceId: Uuid,
  deviceName: Type.Union([Type.String(), Type.Null()]),
  group: Type.Integer(),
  state: JobState,
  progress: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  fromVersion: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  releasedAt: NullableTimestamp,
  deadlineAt: NullableTimestamp,
  notifiedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
  updatedAt: Timestamp,
});
export type DeploymentJob = Static<typeof DeploymentJob>;

export const DeploymentJobPage = Page(DeploymentJob, 'DeploymentJobPage');
export const DeploymentJobsQuery = Type.Object(
  {
    state: Type.Optional(JobState),
    group: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const DeploymentJobDetail = Type.Intersect([
  DeploymentJob,
  Type.Object({
    history: Type.Array(
      Type.Object({
        state: JobState,
        progress: Type.Union([Type.Integer(), Type.Null()]),
        error: Type.Union([Type.String(), Type.Null()]),
        source: Type.Union([Type.Literal('device'), Type.Literal('server'), Type.Literal('user')]),
        at: Timestamp,
      }),
      { description: 'Every transition, oldest first' },
    ),
  }),
]);

export const RetryResult = Type.Object({ deployment: Deployment, retried: Type.Integer({ description: 'Devices that try again' }) });

/** The OTA job a device is told (GET /api/v1/device/ota, and devices/{id}/ota). */
export const OtaJob = Type.Object({
  deploymentId: Uuid,
  firmwareId: Uuid,
  version: Type.String(),
  url: Type.String({ description: 'Downloads the artifact without the device token, with Range, until urlExpiresAt' }),
  urlExpiresAt: Timestamp,
  size: Type.Integer(),
  sha256: Type.String(),
});

export const OtaReportResult = Type.Object({
  applied: Type.Boolean({ description: 'false: a replay, or a report the job has moved past (recorded nowhere, nothing changed)' }),
  state: JobState,
});
