import { OtaStatusPayload } from '@tether/contracts';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { bearerToken } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import {
  Deployment,
  DeploymentCreated,
  DeploymentInput,
  DeploymentJobDetail,
  DeploymentJobPage,
  DeploymentJobsQuery,
  DeploymentList,
  DeploymentListQuery,
  OtaJob,
  OtaReportResult,
  RetryResult,
} from './deployments.schemas.js';
import type { DeploymentsService } from './deployments.service.js';
import type { OtaJobsService } from './ota-jobs.service.js';

const IdParam = Type.Object({ id: Type.String() });
const tags = ['deployments'];

/** Deployments (issue 14). Registered inside an authenticated scope. */
export function deploymentsRoutes(deployments: DeploymentsService) {
  return async (app: App) => {
    app.get('/api/v1/deployments', { schema: { tags, querystring: DeploymentListQuery, response: { 200: DeploymentList } } }, (req) =>
      deployments.list(actorOf(req), req.query),
    );
    app.post(
      '/api/v1/deployments',
      {
        schema: {
          tags,
          description:
            'Rolls a firmware out to a fleet’s devices (operator), in groups; the first starts now unless `paused`. 404 FIRMWARE_NOT_FOUND, FLEET_NOT_FOUND; 409 FIRMWARE_NOT_UPLOADED; 400 FIRMWARE_TEMPLATE_MISMATCH (a fleet device of another template), DEPLOYMENT_EMPTY (no device needs it), DEPLOYMENT_INVALID (groups, maintenance window); 409 DEPLOYMENT_OVERLAP (a device is in another running or paused deployment).',
          body: DeploymentInput,
          response: { 201: DeploymentCreated },
        },
      },
      async (req, reply) => reply.status(201).send(await deployments.create(actorOf(req), req.body)),
    );
    app.get('/api/v1/deployments/:id', { schema: { tags, params: IdParam, response: { 200: Deployment } } }, (req) =>
      deployments.get(actorOf(req), req.params.id),
    );
    const action = (name: 'pause' | 'resume' | 'cancel', description: string) =>
      app.post(
        `/api/v1/deployments/:id/${name}`,
        { schema: { tags, params: IdParam, description: `${description} 409 DEPLOYMENT_STATE_CONFLICT otherwise.`, response: { 200: Deployment } } },
        (req) => deployments[name](actorOf(req), req.params.id),
      );
    action('pause', 'A running deployment stops telling devices; jobs under way go on.');
    action('resume', 'A paused deployment runs again; devices still waiting get a fresh deadline.');
    action('cancel', 'A running or paused deployment ends: devices not yet told are cancelled; ones under way may finish.');
    app.post(
      '/api/v1/deployments/:id/retry',
      {
        schema: {
          tags,
          params: IdParam,
          description:
            'The failed and timed-out devices try again (in a stopped deployment, also the ones its stop cancelled); a stopped or completed deployment runs again. 409 DEPLOYMENT_STATE_CONFLICT when cancelled or when no device failed.',
          response: { 200: RetryResult },
        },
      },
      (req) => deployments.retry(actorOf(req), req.params.id),
    );
    app.get(
      '/api/v1/deployments/:id/devices',
      { schema: { tags, params: IdParam, querystring: DeploymentJobsQuery, description: 'Each device’s job, by group', response: { 200: DeploymentJobPage } } },
      (req) => deployments.jobs(actorOf(req), req.params.id, req.query),
    );
    app.get(
      '/api/v1/deployments/:id/devices/:deviceId',
      {
        schema: {
          tags,
          params: Type.Object({ id: Type.String(), deviceId: Type.String() }),
          description: 'One device’s job with every transition. 404 OTA_JOB_NOT_FOUND when the device is not in the deployment.',
          response: { 200: DeploymentJobDetail },
        },
      },
      (req) => deployments.job(actorOf(req), req.params.id, req.params.deviceId),
    );
  };
}

/** The HTTP device API for OTA, for devices without MQTT (architecture §4). */
export function deviceOtaRoutes(jobs: OtaJobsService, devices: DevicesService) {
  return async (app: App) => {
    app.get(
      '/api/v1/device/ota',
      {
        schema: {
          tags: ['device api'],
          description: 'The device’s OTA job, if it has one now (the job is then notified); 204 otherwise. Same message as devices/{id}/ota.',
          response: { 200: OtaJob, 204: NoContent },
        },
      },
      async (req, reply) => {
        const device = await devices.requireDevice(bearerToken(req));
        const job = await jobs.jobFor(device);
        return job ? job : reply.status(204).send(null);
      },
    );
    app.post(
      '/api/v1/device/ota/status',
      {
        schema: {
          tags: ['device api'],
          description:
            'A report on the device’s OTA job, same payload as devices/{id}/ota/status. 404 OTA_JOB_NOT_FOUND (not in that deployment), 400 OTA_VERSION_REQUIRED / OTA_VERSION_MISMATCH (installed without the new version). A replay is answered applied: false.',
          body: OtaStatusPayload,
          response: { 200: OtaReportResult },
        },
      },
      async (req) => jobs.report(await devices.requireDevice(bearerToken(req)), req.body),
    );
  };
}
