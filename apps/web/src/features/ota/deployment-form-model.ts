/** The "New deployment" form as typed, and the request it makes; problems are FormErrors with a message for the user. */
import { groupsProblem, type DeploymentInput } from './deployments';

export type DeadlineUnit = 'min' | 'h' | 'd';
export const DEADLINE_UNITS: { id: DeadlineUnit; label: string; seconds: number }[] = [
  { id: 'min', label: 'minutes', seconds: 60 },
  { id: 'h', label: 'hours', seconds: 3600 },
  { id: 'd', label: 'days', seconds: 86400 },
];

export interface DeploymentForm {
  firmwareId: string;
  fleetId: string;
  name: string;
  /** Cumulative shares, one a group, as typed. */
  percents: string[];
  successThreshold: string;
  errorThreshold: string;
  deadline: string;
  deadlineUnit: DeadlineUnit;
  windowOn: boolean;
  windowStart: string;
  windowEnd: string;
  timezone: string;
  /** 0 = Sunday. */
  days: number[];
  paused: boolean;
}

export class FormError extends Error {}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The server's defaults: one group, 100% to move on, a 10% error threshold, a day per device. */
export const emptyDeploymentForm = (init: { firmwareId?: string; fleetId?: string } = {}): DeploymentForm => ({
  firmwareId: init.firmwareId ?? '',
  fleetId: init.fleetId ?? '',
  name: '',
  percents: ['100'],
  successThreshold: '100',
  errorThreshold: '10',
  deadline: '24',
  deadlineUnit: 'h',
  windowOn: false,
  windowStart: '02:00',
  windowEnd: '05:00',
  timezone: browserZone(),
  days: [0, 1, 2, 3, 4, 5, 6],
  paused: false,
});

/** The typed percents as numbers (NaN where a box is not a number). */
export const percentsOf = (f: Pick<DeploymentForm, 'percents'>): number[] => f.percents.map((p) => (p.trim() === '' ? NaN : Number(p)));

function percentField(text: string, label: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > 100) throw new FormError(`${label} is a percentage from ${min} to 100.`);
  return n;
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export function formToDeploymentInput(f: DeploymentForm): DeploymentInput {
  if (!f.firmwareId) throw new FormError('Choose the firmware to deploy.');
  if (!f.fleetId) throw new FormError('Choose the fleet to deploy to.');
  const percents = percentsOf(f);
  const problem = groupsProblem(percents);
  if (problem) throw new FormError(`Groups: ${problem}`);
  const successThreshold = percentField(f.successThreshold, 'The success threshold', 1);
  const errorThreshold = percentField(f.errorThreshold, 'The error threshold', 0);
  const unit = DEADLINE_UNITS.find((u) => u.id === f.deadlineUnit)!;
  const amount = Number(f.deadline);
  if (f.deadline.trim() === '' || !Number.isFinite(amount) || amount <= 0) throw new FormError('The device deadline is a positive number.');
  const deviceTimeoutS = Math.round(amount * unit.seconds);
  if (deviceTimeoutS > 30 * 86400) throw new FormError('The device deadline is at most 30 days.');
  const input: DeploymentInput = {
    firmwareId: f.firmwareId,
    fleetId: f.fleetId,
    groups: percents.map((percent) => ({ percent })),
    successThreshold,
    errorThreshold,
    deviceTimeoutS,
  };
  if (f.name.trim()) input.name = f.name.trim();
  if (f.windowOn) {
    if (!TIME.test(f.windowStart) || !TIME.test(f.windowEnd)) throw new FormError('The maintenance window opens and closes at a time of day, HH:MM.');
    if (!f.timezone.trim()) throw new FormError('Give the maintenance window’s time zone, like Europe/Berlin or UTC.');
    if (!f.days.length) throw new FormError('Choose at least one day for the maintenance window.');
    input.maintenanceWindow = { start: f.windowStart, end: f.windowEnd, timezone: f.timezone.trim() };
    if (f.days.length < 7) input.maintenanceWindow.days = [...f.days].sort();
  }
  if (f.paused) input.paused = true;
  return input;
}
