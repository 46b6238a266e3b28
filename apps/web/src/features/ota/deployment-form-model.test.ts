import { describe, expect, it } from 'vitest';
import { FormError, emptyDeploymentForm, formToDeploymentInput, type DeploymentForm } from './deployment-form-model';

const form = (f: Partial<DeploymentForm> = {}): DeploymentForm => ({
  ...emptyDeploymentForm({ firmwareId: 'fw', fleetId: 'fl' }),
  timezone: 'Europe/Amsterdam',
  ...f,
});

describe('formToDeploymentInput', () => {
  it('makes the request from the form, defaults included', () => {
    expect(formToDeploymentInput(form())).toEqual({
      firmwareId: 'fw',
      fleetId: 'fl',
      groups: [{ percent: 100 }],
      successThreshold: 100,
      errorThreshold: 10,
      deviceTimeoutS: 86400,
    });
  });

  it('takes groups, thresholds, a deadline in any unit, a maintenance window and a paused start', () => {
    const input = formToDeploymentInput(
      form({
        name: '  2.0.1 canary ',
        percents: ['1', '10', '50', '100'],
        successThreshold: '95',
        errorThreshold: '5',
        deadline: '90',
        deadlineUnit: 'min',
        windowOn: true,
        windowStart: '22:00',
        windowEnd: '04:00',
        days: [5, 1, 3],
        paused: true,
      }),
    );
    expect(input).toEqual({
      name: '2.0.1 canary',
      firmwareId: 'fw',
      fleetId: 'fl',
      groups: [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }],
      successThreshold: 95,
      errorThreshold: 5,
      deviceTimeoutS: 5400,
      maintenanceWindow: { start: '22:00', end: '04:00', timezone: 'Europe/Amsterdam', days: [1, 3, 5] },
      paused: true,
    });
    // Every day is the server's default: no days sent.
    expect(formToDeploymentInput(form({ windowOn: true })).maintenanceWindow).toEqual({ start: '02:00', end: '05:00', timezone: 'Europe/Amsterdam' });
  });

  it.each<[Partial<DeploymentForm>, string]>([
    [{ firmwareId: '' }, 'Choose the firmware to deploy.'],
    [{ fleetId: '' }, 'Choose the fleet to deploy to.'],
    [{ percents: ['10', '5', '100'] }, 'Groups: Shares are cumulative (like 1, 10, 50, 100): each must be above the one before.'],
    [{ percents: ['10', ''] }, 'Groups: Each group is a share of the deployment, above 0% and at most 100%.'],
    [{ successThreshold: '0' }, 'The success threshold is a percentage from 1 to 100.'],
    [{ errorThreshold: '101' }, 'The error threshold is a percentage from 0 to 100.'],
    [{ deadline: '0' }, 'The device deadline is a positive number.'],
    [{ deadline: '31', deadlineUnit: 'd' }, 'The device deadline is at most 30 days.'],
    [{ windowOn: true, days: [] }, 'Choose at least one day for the maintenance window.'],
    [{ windowOn: true, timezone: ' ' }, 'Give the maintenance window’s time zone, like Europe/Berlin or UTC.'],
  ])('refuses %j', (patch, message) => {
    expect(() => formToDeploymentInput(form(patch))).toThrow(new FormError(message));
  });
});
