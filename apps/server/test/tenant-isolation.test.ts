/**
 * Tenant isolation, end to end (architecture §9: "A resource in another org is
 * a 404, never a 403"). Org A holds a project, devices with data, a user and an
 * API key; a user and an API key of org B then try every route that takes an
 * id, every list, the live WebSocket and MQTT against org A's ids.
 *
 * The routes come from the served OpenAPI document, so a route added later
 * fails this suite until PROBES below says how to exercise it.
 */
import { randomUUID } from 'node:crypto';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type Device, type Project, type User } from '@tether/api-client';
import { rollUpHeartbeats } from '../src/modules/health/health.repository.js';
import { ADMIN, connectMqtt, httpJson, openLive, publish, startServer, waitForClose, type TestServer } from './helpers.js';

type Kind =
  | 'device'
  | 'project'
  | 'user'
  | 'apiKey'
  | 'command'
  | 'template'
  | 'note'
  | 'configKey'
  | 'propertyName'
  | 'rule'
  | 'alarm'
  | 'target'
  | 'delivery'
  | 'firmware'
  | 'fleet'
  | 'deployment'
  | 'deploymentDevice'
  | 'file'
  | 'fileName'
  | 'alert'
  | 'alias'
  | 'report'
  | 'invitation';
interface Probe {
  /** Which kind of org-A resource each path parameter names. */
  params: Record<string, Kind>;
  code: `${string}_NOT_FOUND`;
  body?: unknown;
  query?: Record<string, string>;
}

/** Every OpenAPI operation with a path parameter, and how org B attacks it. */
const PROBES: Record<string, Probe> = {
  'GET /api/v1/users/{id}': { params: { id: 'user' }, code: 'USER_NOT_FOUND' },
  'PUT /api/v1/users/{id}': { params: { id: 'user' }, code: 'USER_NOT_FOUND', body: { name: 'hijacked', password: 'hijacked-password' } },
  'DELETE /api/v1/users/{id}': { params: { id: 'user' }, code: 'USER_NOT_FOUND' },
  'DELETE /api/v1/invitations/{id}': { params: { id: 'invitation' }, code: 'INVITATION_NOT_FOUND' },
  'DELETE /api/v1/api-keys/{id}': { params: { id: 'apiKey' }, code: 'API_KEY_NOT_FOUND' },
  'GET /api/v1/projects/{id}': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'PATCH /api/v1/projects/{id}': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND', body: { name: 'hijacked', description: 'hijacked' } },
  'DELETE /api/v1/projects/{id}': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'GET /api/v1/projects/{id}/provisioning': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'POST /api/v1/projects/{id}/provisioning': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND', body: { allowReprovision: true } },
  'PATCH /api/v1/projects/{id}/provisioning': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND', body: { enabled: false } },
  'POST /api/v1/devices/{id}/unclaim': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'PATCH /api/v1/devices/{id}': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', body: { name: 'hijacked', tags: ['hijacked'] } },
  'DELETE /api/v1/devices/{id}': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/status': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'POST /api/v1/devices/{id}/credentials/rotate': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'POST /api/v1/devices/{id}/credentials/revoke': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'POST /api/v1/devices/{id}/retire': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', body: { reason: 'hijacked' } },
  'POST /api/v1/devices/{id}/unretire': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/health/devices/{id}': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/health/devices/{id}/gaps': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/heartbeats.csv': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', query: { from: '0' } },
  'GET /api/v1/devices/{id}/telemetry.csv': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', query: { from: '0' } },
  'GET /api/v1/devices/{id}/telemetry/latest': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/telemetry': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', query: { keys: 'temperature', from: '0' } },
  'GET /api/v1/devices/{id}/locations': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', query: { from: '0' } },
  'GET /api/v1/devices/{id}/heartbeats': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', query: { from: '0' } },
  'GET /api/v1/devices/{id}/attributes': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/messages': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'POST /api/v1/devices/{id}/commands': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', body: { name: 'reset' } },
  'GET /api/v1/devices/{id}/commands': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/commands/{commandId}': { params: { id: 'device', commandId: 'command' }, code: 'DEVICE_NOT_FOUND' },
  'DELETE /api/v1/devices/{id}/commands/{commandId}': { params: { id: 'device', commandId: 'command' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/config': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/config/desired': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'PUT /api/v1/devices/{id}/config/{key}': { params: { id: 'device', key: 'configKey' }, code: 'DEVICE_NOT_FOUND', body: { value: 'hijacked' } },
  'DELETE /api/v1/devices/{id}/config/{key}': { params: { id: 'device', key: 'configKey' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/projects/{id}/config': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'PUT /api/v1/projects/{id}/config/{key}': { params: { id: 'project', key: 'configKey' }, code: 'PROJECT_NOT_FOUND', body: { value: 'hijacked' } },
  'DELETE /api/v1/projects/{id}/config/{key}': { params: { id: 'project', key: 'configKey' }, code: 'PROJECT_NOT_FOUND' },
  'GET /api/v1/devices/{id}/properties': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'PUT /api/v1/devices/{id}/properties/{name}': { params: { id: 'device', name: 'propertyName' }, code: 'DEVICE_NOT_FOUND', body: { value: 'hijacked' } },
  'DELETE /api/v1/devices/{id}/properties/{name}': { params: { id: 'device', name: 'propertyName' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/projects/{id}/properties': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'PUT /api/v1/projects/{id}/properties/{name}': { params: { id: 'project', name: 'propertyName' }, code: 'PROJECT_NOT_FOUND', body: { value: 'hijacked' } },
  'DELETE /api/v1/projects/{id}/properties/{name}': { params: { id: 'project', name: 'propertyName' }, code: 'PROJECT_NOT_FOUND' },
  'GET /api/v1/devices/{id}/notes': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'POST /api/v1/devices/{id}/notes': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND', body: { body: 'hijacked' } },
  'GET /api/v1/projects/{id}/notes': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND' },
  'POST /api/v1/projects/{id}/notes': { params: { id: 'project' }, code: 'PROJECT_NOT_FOUND', body: { body: 'hijacked' } },
  'DELETE /api/v1/notes/{id}': { params: { id: 'note' }, code: 'NOTE_NOT_FOUND' },
  'GET /api/v1/templates/{id}': { params: { id: 'template' }, code: 'TEMPLATE_NOT_FOUND' },
  'PATCH /api/v1/templates/{id}': { params: { id: 'template' }, code: 'TEMPLATE_NOT_FOUND', body: { name: 'hijacked' } },
  'DELETE /api/v1/templates/{id}': { params: { id: 'template' }, code: 'TEMPLATE_NOT_FOUND' },
  'PUT /api/v1/devices/{id}/photo': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/devices/{id}/photo': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'DELETE /api/v1/devices/{id}/photo': { params: { id: 'device' }, code: 'DEVICE_NOT_FOUND' },
  'GET /api/v1/alarm-rules/{id}': { params: { id: 'rule' }, code: 'RULE_NOT_FOUND' },
  'PUT /api/v1/alarm-rules/{id}': {
    params: { id: 'rule' },
    code: 'RULE_NOT_FOUND',
    body: { name: 'hijacked', kind: 'device_alert', key: 'hijacked', condition: {}, severity: 'info', message: 'hijacked' },
  },
  'DELETE /api/v1/alarm-rules/{id}': { params: { id: 'rule' }, code: 'RULE_NOT_FOUND' },
  'GET /api/v1/alarms/{id}': { params: { id: 'alarm' }, code: 'ALARM_NOT_FOUND' },
  'POST /api/v1/alarms/{id}/acknowledge': { params: { id: 'alarm' }, code: 'ALARM_NOT_FOUND', body: { comment: 'hijacked' } },
  'POST /api/v1/alarms/{id}/clear': { params: { id: 'alarm' }, code: 'ALARM_NOT_FOUND', body: { comment: 'hijacked' } },
  'POST /api/v1/alarms/{id}/assign': { params: { id: 'alarm' }, code: 'ALARM_NOT_FOUND', body: { assigneeId: null } },
  'POST /api/v1/alarms/{id}/comments': { params: { id: 'alarm' }, code: 'ALARM_NOT_FOUND', body: { comment: 'hijacked' } },
  'GET /api/v1/notification-targets/{id}': { params: { id: 'target' }, code: 'TARGET_NOT_FOUND' },
  'PUT /api/v1/notification-targets/{id}': {
    params: { id: 'target' },
    code: 'TARGET_NOT_FOUND',
    body: { name: 'hijacked', kind: 'webhook', config: { url: 'http://attacker.example/hook' } },
  },
  'DELETE /api/v1/notification-targets/{id}': { params: { id: 'target' }, code: 'TARGET_NOT_FOUND' },
  'POST /api/v1/notification-targets/{id}/test': { params: { id: 'target' }, code: 'TARGET_NOT_FOUND' },
  'POST /api/v1/notification-deliveries/{id}/replay': { params: { id: 'delivery' }, code: 'DELIVERY_NOT_FOUND' },
  'GET /api/v1/firmware/{id}': { params: { id: 'firmware' }, code: 'FIRMWARE_NOT_FOUND' },
  'DELETE /api/v1/firmware/{id}': { params: { id: 'firmware' }, code: 'FIRMWARE_NOT_FOUND' },
  'PUT /api/v1/firmware/{id}/artifact': { params: { id: 'firmware' }, code: 'FIRMWARE_NOT_FOUND', body: 'hijacked bytes' },
  'GET /api/v1/firmware/{id}/artifact': { params: { id: 'firmware' }, code: 'FIRMWARE_NOT_FOUND' },
  'POST /api/v1/firmware/{id}/download-link': { params: { id: 'firmware' }, code: 'FIRMWARE_NOT_FOUND', body: {} },
  'GET /api/v1/fleets/{id}': { params: { id: 'fleet' }, code: 'FLEET_NOT_FOUND' },
  'PATCH /api/v1/fleets/{id}': { params: { id: 'fleet' }, code: 'FLEET_NOT_FOUND', body: { name: 'hijacked' } },
  'DELETE /api/v1/fleets/{id}': { params: { id: 'fleet' }, code: 'FLEET_NOT_FOUND' },
  'GET /api/v1/fleets/{id}/devices': { params: { id: 'fleet' }, code: 'FLEET_NOT_FOUND' },
  'POST /api/v1/fleets/{id}/devices': { params: { id: 'fleet' }, code: 'FLEET_NOT_FOUND', body: { add: [] } },
  'GET /api/v1/files/{id}': { params: { id: 'file' }, code: 'FILE_NOT_FOUND' },
  'GET /api/v1/files/{id}/content': { params: { id: 'file' }, code: 'FILE_NOT_FOUND' },
  'DELETE /api/v1/files/{id}': { params: { id: 'file' }, code: 'FILE_NOT_FOUND' },
  'GET /api/v1/devices/{deviceId}/files/{name}': { params: { deviceId: 'device', name: 'fileName' }, code: 'FILE_NOT_FOUND' },
  'GET /api/v1/alerts/{id}': { params: { id: 'alert' }, code: 'ALERT_NOT_FOUND' },
  'GET /api/v1/deployments/{id}': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'POST /api/v1/deployments/{id}/pause': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'POST /api/v1/deployments/{id}/resume': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'POST /api/v1/deployments/{id}/cancel': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'POST /api/v1/deployments/{id}/retry': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'GET /api/v1/deployments/{id}/devices': { params: { id: 'deployment' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'GET /api/v1/deployments/{id}/devices/{deviceId}': { params: { id: 'deployment', deviceId: 'deploymentDevice' }, code: 'DEPLOYMENT_NOT_FOUND' },
  'GET /api/v1/aliases/{id}': { params: { id: 'alias' }, code: 'ALIAS_NOT_FOUND' },
  'PATCH /api/v1/aliases/{id}': { params: { id: 'alias' }, code: 'ALIAS_NOT_FOUND', body: { name: 'hijacked' } },
  'DELETE /api/v1/aliases/{id}': { params: { id: 'alias' }, code: 'ALIAS_NOT_FOUND' },
  'GET /api/v1/aliases/{id}/telemetry': { params: { id: 'alias' }, code: 'ALIAS_NOT_FOUND', query: { from: '0' } },
  'GET /api/v1/reports/{id}': { params: { id: 'report' }, code: 'REPORT_NOT_FOUND' },
  'GET /api/v1/reports/{id}/errors': { params: { id: 'report' }, code: 'REPORT_NOT_FOUND' },
  'DELETE /api/v1/reports/{id}': { params: { id: 'report' }, code: 'REPORT_NOT_FOUND' },
};

/** Path parameters that are not ids of an org's resource, and why. */
const NOT_RESOURCE_IDS: Record<string, string> = {
  'POST /api/v1/{token}/telemetry': 'ThingsBoard-style upload: the path carries the device credential itself',
  'POST /api/v1/{token}/attributes': 'ThingsBoard-style upload: the path carries the device credential itself',
  'PUT /api/v1/org/config/{key}': 'the key names a setting of the caller’s own org; there is no other org in the path',
  'DELETE /api/v1/org/config/{key}': 'the key names a setting of the caller’s own org; there is no other org in the path',
  'PUT /api/v1/users/me/config/{key}': 'the caller’s own user settings',
  'DELETE /api/v1/users/me/config/{key}': 'the caller’s own user settings',
  'GET /api/v1/firmware-downloads/{id}':
    "a signed download link: the token in the query is the credential, and names the firmware (apps/server/test/firmware.test.ts: another firmware's id is DOWNLOAD_LINK_INVALID)",
  'GET /api/v1/files/{id}/content-link':
    "a file's signed url: the token in the query is the credential and names the file (device-files.test.ts: a forged token is FILE_LINK_INVALID)",
  'PATCH /api/v1/device/files/uploads/{id}':
    'device API (tus): the device is the caller; device-files.test.ts shows another device’s upload is FILE_NOT_FOUND for HEAD, PATCH and DELETE',
  'DELETE /api/v1/device/files/uploads/{id}': 'device API (tus): as PATCH',
  'GET /api/v1/device/reports/{id}':
    'device API: the device is the caller and sees its own reports only; probed below (another org’s device, and a device of the same org, get REPORT_NOT_FOUND)',
  'POST /api/v1/device/commands/{commandId}/result':
    'device API: the device is the caller; covered by the commands suite (another device’s command is COMMAND_NOT_FOUND)',
};

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

let s: TestServer;
let ownerA: TetherClient;
let orgAId: string;
let projectA: Project;
let deviceA: Device & { token: string };
let deviceA2: Device & { token: string };
let userA: User;
let keyA: { id: string; key: string };
let orgBId: string;
let userB: TetherClient;
let keyB: { id: string; key: string };
let projectB: Project;
let deviceB: Device & { token: string };
let ids: Record<Kind, string>;
let reportA: string;
/** Strings that must never appear in anything org B receives. */
let secretsOfA: string[];

beforeAll(async () => {
  s = await startServer();

  // Org A: the bootstrap admin's default org.
  ownerA = s.api;
  orgAId = (await ownerA.me()).orgId;
  projectA = await ownerA.projects.create({ name: 'Plant', description: 'org A plant' });
  deviceA = await ownerA.devices.create({ name: 'a-boiler', projectId: projectA.id, tags: ['org-a'] });
  deviceA2 = await ownerA.devices.create({ name: 'a-neighbour', projectId: projectA.id });
  userA = await ownerA.users.create({ email: 'operator@a.test', password: 'operator-a-pw', name: 'A Operator', role: 'operator' });
  keyA = await ownerA.apiKeys.create({ name: 'a-key', role: 'viewer' });
  const invitationA = await ownerA.invitations.create({ email: 'invitee@a.test', role: 'operator' });

  // A rule that makes the leak alert below an alarm of org A.
  const leakRule = await httpJson(`${s.httpUrl}/api/v1/alarm-rules`, {
    method: 'POST',
    token: ownerA.token,
    body: JSON.stringify({
      scope: 'org',
      name: 'A leak rule',
      kind: 'device_alert',
      key: 'leak',
      condition: {},
      severity: 'critical',
      message: 'A alarm: {{alert.message}}',
    }),
  });
  expect(leakRule.status).toBe(201);
  const dev = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
  await publish(dev, `devices/${deviceA.id}/telemetry`, JSON.stringify({ temperature: 21.5, mode: 'eco' }));
  await publish(dev, `devices/${deviceA.id}/alerts`, JSON.stringify({ message: 'A leak in org A', severity: 'critical', type: 'leak', files: ['a-cam.log'] }));
  await publish(dev, `devices/${deviceA.id}/location`, JSON.stringify({ lat: 52.37, lon: 4.89 }));
  await publish(dev, `devices/${deviceA.id}/attributes`, JSON.stringify({ fw_version: '1.0.0-a', model: 'a-model' }));
  await publish(dev, `devices/${deviceA.id}/heartbeat`, JSON.stringify({ uptime: 10, battery: 90 }));
  await dev.endAsync();
  const http = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: deviceA.token, body: JSON.stringify({ pressure: 1.2 }) });
  expect(http.status).toBe(202);
  // A store-and-forward report of org A's device, with a bad line (listed at /errors).
  const report = await fetch(`${s.httpUrl}/api/v1/device/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${deviceA.token}`, 'content-type': 'text/csv', 'x-report-id': 'a-report-secret' },
    body: 'ts,temperature\n2024-01-01T00:00:00Z,19.5\nnot-a-time,1\n',
  });
  expect(report.status).toBe(202);
  reportA = ((await report.json()) as { id: string }).id;

  // Org B: created by the admin, who then adds a user that belongs to org B only.
  orgBId = (await ownerA.orgs.create('Org B')).id;
  const adminInB = new TetherClient({ baseUrl: s.httpUrl });
  await adminInB.login(ADMIN.email, ADMIN.password, orgBId);
  // An admin, so role checks never answer before the org check does.
  await adminInB.users.create({ email: 'admin@b.test', password: 'admin-b-password', name: 'B Admin', role: 'admin' });
  userB = new TetherClient({ baseUrl: s.httpUrl });
  await userB.login('admin@b.test', 'admin-b-password');
  keyB = await userB.apiKeys.create({ name: 'b-key', role: 'admin' });
  // The same project name as org A's: names are unique per org only.
  projectB = await userB.projects.create({ name: 'Plant' });
  deviceB = await userB.devices.create({ name: 'b-sensor', projectId: projectB.id });

  const asA = (method: string, path: string, body?: unknown) =>
    httpJson(`${s.httpUrl}${path}`, { method, token: ownerA.token, body: body === undefined ? undefined : JSON.stringify(body) });
  const template = await asA('POST', '/api/v1/templates', { name: 'A template', commands: [{ name: 'reset' }] });
  const command = await asA('POST', `/api/v1/devices/${deviceA.id}/commands`, { name: 'reset' });
  const note = await asA('POST', `/api/v1/devices/${deviceA.id}/notes`, { body: 'A note of org A' });
  await asA('PUT', `/api/v1/devices/${deviceA.id}/properties/location`, { value: 'A building' });
  await asA('PUT', `/api/v1/devices/${deviceA.id}/config/mode`, { value: 'a-mode' });
  const photo = await fetch(`${s.httpUrl}/api/v1/devices/${deviceA.id}/photo`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ownerA.token}`, 'content-type': 'image/png' },
    body: Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'),
  });
  expect([template.status, command.status, note.status, photo.status]).toEqual([201, 201, 201, 204]);
  const targetA = await asA('POST', '/api/v1/notification-targets', { name: 'A hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a-hook' } });
  const deliveryA = await asA('POST', `/api/v1/notification-targets/${targetA.body.id as string}/test`);
  expect([targetA.status, deliveryA.status]).toEqual([201, 202]);
  // A firmware of org A, with its artifact.
  const firmwareA = await asA('POST', '/api/v1/firmware', { templateId: template.body.id, version: '1.0.0', releaseNotes: 'A firmware notes' });
  const artifactA = await fetch(`${s.httpUrl}/api/v1/firmware/${firmwareA.body.id as string}/artifact`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ownerA.token}`, 'content-type': 'application/octet-stream' },
    body: Buffer.from('org A firmware bytes'),
  });
  expect([firmwareA.status, artifactA.status]).toEqual([201, 200]);
  const fleetA = await asA('POST', '/api/v1/fleets', { name: 'A boilers', kind: 'static', deviceIds: [deviceA.id] });
  expect(fleetA.status).toBe(201);
  // A deployment of that firmware to a device of its template (offline: it stays running).
  const otaDeviceA = await asA('POST', '/api/v1/devices', { name: 'a-ota-boiler', templateId: template.body.id });
  const otaFleetA = await asA('POST', '/api/v1/fleets', { name: 'A ota fleet', kind: 'static', deviceIds: [otaDeviceA.body.id] });
  const deploymentA = await asA('POST', '/api/v1/deployments', { name: 'A rollout', firmwareId: firmwareA.body.id, fleetId: otaFleetA.body.id });
  expect([otaDeviceA.status, otaFleetA.status, deploymentA.status]).toEqual([201, 201, 201]);
  // A stream alias of org A over its device's temperature.
  const aliasA = await asA('POST', '/api/v1/aliases', {
    name: 'A site temperature',
    projectId: projectA.id,
    taps: [{ deviceId: deviceA.id, key: 'temperature', from: '0' }],
  });
  expect(aliasA.status).toBe(201);
  await s.tether.alarms!.idle();
  const alarmsOfA = await asA('GET', `/api/v1/alarms?deviceId=${deviceA.id}`);
  expect(alarmsOfA.body.items).toHaveLength(1);

  // A file of org A's device, named by its alert.
  const fileA = await new Promise<string>((resolve, reject) => {
    const up = new tus.Upload(Buffer.from('org A file bytes'), {
      endpoint: `${s.httpUrl}/api/v1/device/files/uploads`,
      headers: { authorization: `Bearer ${deviceA.token}` },
      metadata: { filename: 'a-cam.log' },
      onSuccess: () => resolve(up.url!.split('/').pop()!),
      onError: reject,
    });
    up.start();
  });
  const alertA = (await asA('GET', `/api/v1/alerts?deviceId=${deviceA.id}`)).body.items as { id: string }[];

  ids = {
    device: deviceA.id,
    project: projectA.id,
    user: userA.id,
    apiKey: keyA.id,
    command: command.body.id as string,
    template: template.body.id as string,
    note: note.body.id as string,
    configKey: 'mode',
    propertyName: 'location',
    rule: leakRule.body.id as string,
    alarm: (alarmsOfA.body.items as { id: string }[])[0]!.id,
    target: targetA.body.id as string,
    delivery: deliveryA.body.id as string,
    firmware: firmwareA.body.id as string,
    fleet: fleetA.body.id as string,
    deployment: deploymentA.body.id as string,
    deploymentDevice: otaDeviceA.body.id as string,
    file: fileA,
    fileName: 'a-cam.log',
    alert: alertA[0]!.id,
    alias: aliasA.body.id as string,
    report: reportA,
    invitation: invitationA.id,
  };
  secretsOfA = [
    'invitee@a.test',
    'A site temperature',
    'a-report-secret',
    'A leak rule',
    'A rollout',
    'A ota fleet',
    'A firmware notes',
    'A boilers',
    'org A firmware bytes',
    'org A file bytes',
    'A alarm: ',
    'a-boiler',
    'a-neighbour',
    'org A plant',
    'operator@a.test',
    'A Operator',
    'a-key',
    'A leak in org A',
    'a-model',
    deviceA.token,
    keyA.key,
  ];
});

afterAll(async () => {
  await s?.close();
});

const url = (path: string, query?: Record<string, string>) => `${s.httpUrl}${path}${query ? `?${new URLSearchParams(query)}` : ''}`;
const call = (method: string, path: string, token: string, body?: unknown, query?: Record<string, string>) =>
  httpJson(url(path, query), { method, token, body: body === undefined ? undefined : JSON.stringify(body) });
const fill = (template: string, params: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);

async function openApiOperations(): Promise<string[]> {
  const doc = await httpJson(`${s.httpUrl}/api/docs/openapi.json`);
  expect(doc.status).toBe(200);
  const paths = doc.body.paths as Record<string, Record<string, unknown>>;
  const ops: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${path}`);
  }
  return ops;
}

describe('setup', () => {
  it('org B user belongs to org B only, and org A holds data', async () => {
    const me = await userB.me();
    expect(me.orgId).toBe(orgBId);
    expect(me.orgs.map((o) => o.id)).toEqual([orgBId]);
    expect(orgBId).not.toBe(orgAId);
    const latest = await ownerA.devices.latest(deviceA.id);
    expect(Object.keys(latest.values).sort()).toEqual(['mode', 'pressure', 'temperature']);
  });
});

describe('every route that takes an id answers 404 to another org', () => {
  it('the probe table covers every parameterised route in the OpenAPI document', async () => {
    const ops = await openApiOperations();
    const parameterised = ops.filter((op) => op.includes('{'));
    const unknown = parameterised.filter((op) => !(op in PROBES) && !(op in NOT_RESOURCE_IDS));
    expect(unknown, 'routes with a path parameter that this suite does not know how to attack; add them to PROBES').toEqual([]);
    const stale = [...Object.keys(PROBES), ...Object.keys(NOT_RESOURCE_IDS)].filter((op) => !ops.includes(op));
    expect(stale, 'PROBES lists routes the server no longer serves').toEqual([]);
  });

  it('org A sees its own resources through the GET probes (the ids are real)', async () => {
    for (const [op, probe] of Object.entries(PROBES)) {
      const [method, template] = op.split(' ') as [string, string];
      if (method !== 'GET') continue;
      const path = fill(template, Object.fromEntries(Object.entries(probe.params).map(([p, kind]) => [p, ids[kind]])));
      const r = await call(method, path, ownerA.token!, undefined, probe.query);
      expect(r.status, `${op} as org A`).toBe(200);
    }
  });

  for (const who of ['user', 'API key'] as const) {
    it(`an org B ${who} gets the same 404 for org A's ids as for ids that do not exist`, async () => {
      const token = who === 'user' ? userB.token! : keyB.key;
      const ops = await openApiOperations();
      let probed = 0;
      for (const op of ops) {
        const probe = PROBES[op];
        if (!probe) continue;
        const [method, template] = op.split(' ') as [string, string];
        const foreign = fill(template, Object.fromEntries(Object.entries(probe.params).map(([p, kind]) => [p, ids[kind]])));
        const r = await call(method, foreign, token, probe.body, probe.query);
        expect(r.status, `${op} with org A's id`).toBe(404);
        expect(r.body.error?.code, `${op} with org A's id`).toBe(probe.code);
        expect(r.body.error?.code).toMatch(/_NOT_FOUND$/);
        expect(typeof r.body.error?.message).toBe('string');
        expect(Object.keys(r.body)).toEqual(['error']);
        for (const secret of secretsOfA) expect(JSON.stringify(r.body), `${op} leaks "${secret}"`).not.toContain(secret);

        // Indistinguishable from an id that exists nowhere.
        const missing = fill(template, Object.fromEntries(Object.keys(probe.params).map((p) => [p, randomUUID()])));
        const m = await call(method, missing, token, probe.body, probe.query);
        expect({ status: m.status, code: m.body.error?.code }, `${op} with a random id`).toEqual({ status: r.status, code: r.body.error?.code });
        probed++;
      }
      expect(probed).toBe(Object.keys(PROBES).length);
    });
  }

  it('org B asking for a device JWT of org A’s device gets DEVICE_NOT_FOUND', async () => {
    for (const token of [userB.token!, keyB.key]) {
      const r = await call('POST', '/api/v1/auth/device-token', token, { deviceId: deviceA.id });
      expect(r).toMatchObject({ status: 404, body: { error: { code: 'DEVICE_NOT_FOUND' } } });
    }
    // A device of org B may only ask for its own JWT.
    const self = await call('POST', '/api/v1/auth/device-token', deviceB.token, { deviceId: deviceA.id });
    expect(self.status).toBe(403);
    expect(JSON.stringify(self.body)).not.toContain('a-boiler');
  });

  it('signing in to org A as the org B user is ORG_NOT_FOUND, the same as a made-up org', async () => {
    const a = await httpJson(`${s.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ email: 'admin@b.test', password: 'admin-b-password', orgId: orgAId }),
    });
    const z = await httpJson(`${s.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ email: 'admin@b.test', password: 'admin-b-password', orgId: randomUUID() }),
    });
    expect(a).toMatchObject({ status: 404, body: { error: { code: 'ORG_NOT_FOUND' } } });
    expect(z.status).toBe(a.status);
    expect(z.body.error?.code).toBe(a.body.error?.code);
  });

  it('an access token is scoped to the org it was issued for, even for a member of both orgs', async () => {
    const adminInB = new TetherClient({ baseUrl: s.httpUrl });
    await adminInB.login(ADMIN.email, ADMIN.password, orgBId);
    const r = await call('GET', `/api/v1/devices/${deviceA.id}`, adminInB.token!);
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'DEVICE_NOT_FOUND' } } });
    expect((await adminInB.devices.list()).items.map((d) => d.id)).not.toContain(deviceA.id);
  });
});

describe('org A is unchanged by org B’s attempts', () => {
  it('keeps its device, project, user, API key, device token and data', async () => {
    const d = await ownerA.devices.get(deviceA.id);
    expect(d).toMatchObject({ name: 'a-boiler', projectId: projectA.id, tags: ['org-a'], orgId: orgAId });
    expect((await ownerA.devices.list()).items.map((x) => x.id)).toEqual(expect.arrayContaining([deviceA.id, deviceA2.id]));
    const p = await ownerA.projects.get(projectA.id);
    expect(p).toMatchObject({ name: 'Plant', description: 'org A plant' });
    expect(await ownerA.users.get(userA.id)).toMatchObject({ name: 'A Operator', role: 'operator' });
    const asA = new TetherClient({ baseUrl: s.httpUrl });
    await asA.login('operator@a.test', 'operator-a-pw');
    expect((await asA.me()).orgId).toBe(orgAId);
    // The API key still works, so the DELETE did not revoke it.
    const viaKey = await call('GET', `/api/v1/devices/${deviceA.id}`, keyA.key);
    expect(viaKey.status).toBe(200);
    expect((await ownerA.apiKeys.list()).items.find((k) => k.id === keyA.id)?.revokedAt).toBeNull();
    // The device's token was neither rotated nor revoked.
    const c = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
    await c.endAsync();
    const latest = await ownerA.devices.latest(deviceA.id);
    expect(latest.values.temperature?.value).toBe(21.5);
    expect((await ownerA.alerts.list({ deviceId: deviceA.id })).total).toBe(1);
  });
});

describe('lists never show another org’s data', () => {
  it('the audit log: org B’s admins see only org B’s entries, whatever the filter or cursor', async () => {
    const ofA = await call('GET', '/api/v1/audit', ownerA.token!, undefined, { limit: '500' });
    const aEntries = ofA.body.items as { id: string; target: { id: string | null } }[];
    expect(aEntries.map((e) => e.target.id)).toContain(deviceA.id);
    const aIds = new Set([projectA.id, deviceA.id, deviceA2.id, userA.id, keyA.id, orgAId]);
    for (const token of [userB.token!, keyB.key]) {
      const all = await call('GET', '/api/v1/audit', token, undefined, { limit: '500' });
      expect(all.status).toBe(200);
      const items = all.body.items as { id: string; target: { id: string | null } }[];
      expect(items.length).toBeGreaterThan(0);
      expect(items.filter((e) => aIds.has(e.target.id ?? ''))).toEqual([]);
      expect(items.map((e) => e.id)).not.toContain(aEntries[0]!.id);
      for (const q of [{ targetId: deviceA.id }, { actor: userA.id }, { before: aEntries[0]!.id }] as Record<string, string>[]) {
        const r = await call('GET', '/api/v1/audit', token, undefined, q);
        expect(r.status, JSON.stringify(q)).toBe(200);
        expect(r.body.items, JSON.stringify(q)).toEqual([]);
      }
    }
  });

  it('devices, projects, alerts, users and API keys', async () => {
    for (const token of [userB.token!, keyB.key]) {
      const devices = await call('GET', '/api/v1/devices', token, undefined, { limit: '500' });
      expect(devices.status).toBe(200);
      const dIds = (devices.body.items as Device[]).map((d) => d.id);
      expect(dIds).toEqual([deviceB.id]);
      expect(devices.body.total).toBe(1);
      const byProject = await call('GET', '/api/v1/devices', token, undefined, { projectId: projectA.id });
      expect(byProject.body).toMatchObject({ items: [], total: 0 });
      const byTag = await call('GET', '/api/v1/devices', token, undefined, { tag: 'org-a' });
      expect(byTag.body).toMatchObject({ items: [], total: 0 });
      const byName = await call('GET', '/api/v1/devices', token, undefined, { q: 'a-boiler' });
      expect(byName.body).toMatchObject({ items: [], total: 0 });

      const projects = await call('GET', '/api/v1/projects', token);
      expect((projects.body.items as Project[]).map((p) => p.id)).toEqual([projectB.id]);
      // deviceCount counts org B's devices only, though both projects are called "Plant".
      expect((projects.body.items as Project[])[0]!.deviceCount).toBe(1);

      for (const q of [{ deviceId: deviceA.id }, { projectId: projectA.id }, { type: 'leak' }, {}] as Record<string, string>[]) {
        const alerts = await call('GET', '/api/v1/alerts', token, undefined, q);
        expect(alerts.status, JSON.stringify(q)).toBe(200);
        expect(alerts.body, JSON.stringify(q)).toMatchObject({ items: [], total: 0 });
      }

      const users = await call('GET', '/api/v1/users', token);
      const emails = (users.body.items as User[]).map((u) => u.email);
      expect(emails).not.toContain('operator@a.test');
      expect((users.body.items as User[]).map((u) => u.id)).not.toContain(userA.id);
      expect(users.body.total).toBe(emails.length);

      const invitations = await call('GET', '/api/v1/invitations', token, undefined, { status: 'all' });
      expect(invitations.body).toMatchObject({ items: [] });

      const keys = await call('GET', '/api/v1/api-keys', token);
      expect((keys.body.items as { id: string }[]).map((k) => k.id)).toEqual([keyB.id]);

      // Switching into org A is refused like any other org-A id (an API key has no other org at all).
      const sw = await call('POST', '/api/v1/auth/switch-org', token, { orgId: orgAId });
      expect([sw.status, sw.body.error?.code]).toEqual(token === keyB.key ? [403, 'FORBIDDEN'] : [404, 'ORG_NOT_FOUND']);

      const orgs = await call('GET', '/api/v1/orgs', token);
      expect((orgs.body.items as { id: string }[]).map((o) => o.id)).toEqual([orgBId]);

      const rules = await call('GET', '/api/v1/alarm-rules', token);
      expect(rules.body).toMatchObject({ items: [] });
      for (const q of [{ deviceId: deviceA.id }, { projectId: projectA.id }, { ruleId: ids.rule }, { state: 'open' }, {}] as Record<string, string>[]) {
        const alarms = await call('GET', '/api/v1/alarms', token, undefined, q);
        expect(alarms.body, JSON.stringify(q)).toMatchObject({ items: [], total: 0 });
      }
      const counts = await call('GET', '/api/v1/alarms/counts', token);
      expect(counts.body).toEqual({ open: {}, unacknowledged: 0 });
      const targets = await call('GET', '/api/v1/notification-targets', token);
      expect(targets.body).toEqual({ items: [] });
      for (const q of [{ targetId: ids.target }, { alarmId: ids.alarm }, {}] as Record<string, string>[]) {
        const deliveries = await call('GET', '/api/v1/notification-deliveries', token, undefined, q);
        expect(deliveries.body, JSON.stringify(q)).toMatchObject({ items: [], total: 0 });
      }
      // A rule of org B may not notify org A's target.
      const stealTarget = await call('POST', '/api/v1/alarm-rules', token, {
        scope: 'org',
        name: 'tell A',
        kind: 'device_alert',
        key: 'leak',
        condition: {},
        severity: 'info',
        message: 'x',
        notify: [ids.target],
      });
      expect(stealTarget).toMatchObject({ status: 404, body: { error: { code: 'TARGET_NOT_FOUND' } } });
      // Nor replay a rule over org A's device's history.
      const preview = await call('POST', '/api/v1/alarm-rules/preview', token, {
        deviceId: deviceA.id,
        rule: { kind: 'threshold', key: 'temperature', condition: { op: '>', value: 0 } },
      });
      expect(preview).toMatchObject({ status: 404, body: { error: { code: 'DEVICE_NOT_FOUND' } } });
      // A rule of org B may not name org A's device, project or template as its scope.
      for (const [scope, scopeId] of [
        ['device', deviceA.id],
        ['project', projectA.id],
        ['template', ids.template],
      ] as const) {
        const r = await call('POST', '/api/v1/alarm-rules', token, {
          scope,
          scopeId,
          name: 'reach into A',
          kind: 'device_alert',
          key: 'leak',
          condition: {},
          severity: 'info',
          message: 'x',
        });
        expect(r.status, scope).toBe(404);
      }
      // Deployments: none listed; none made from org A's firmware or fleet; no report on org A's.
      const deployments = await call('GET', '/api/v1/deployments', token);
      expect(deployments.body).toEqual({ items: [] });
      const stealFirmware = await call('POST', '/api/v1/deployments', token, { firmwareId: ids.firmware, fleetId: ids.fleet });
      expect(stealFirmware).toMatchObject({ status: 404, body: { error: { code: 'FIRMWARE_NOT_FOUND' } } });
      // Reports: none listed, org A's device is not a filter, and org B's device cannot read org A's report.
      const reports = await call('GET', '/api/v1/reports', token);
      expect(reports.body).toMatchObject({ items: [], total: 0 });
      const reportsOfA = await call('GET', '/api/v1/reports', token, undefined, { deviceId: deviceA.id });
      expect(reportsOfA).toMatchObject({ status: 404, body: { error: { code: 'DEVICE_NOT_FOUND' } } });
      for (const deviceToken of [deviceB.token, deviceA2.token]) {
        const r = await call('GET', `/api/v1/device/reports/${ids.report}`, deviceToken);
        expect(r).toMatchObject({ status: 404, body: { error: { code: 'REPORT_NOT_FOUND' } } });
        for (const secret of secretsOfA) expect(JSON.stringify(r.body)).not.toContain(secret);
      }
      const reportOnA = await call('POST', '/api/v1/device/ota/status', deviceB.token, { deploymentId: ids.deployment, state: 'failed' });
      expect(reportOnA).toMatchObject({ status: 404, body: { error: { code: 'OTA_JOB_NOT_FOUND' } } });
      // Files: none listed, none counted; no upload as org A's device's.
      for (const q of [{ deviceId: deviceA.id }, { type: 'text/' }, {}] as Record<string, string>[]) {
        const files = await call('GET', '/api/v1/files', token, undefined, q);
        expect(files.body, JSON.stringify(q)).toMatchObject({ items: [], total: 0 });
      }
      const usage = await call('GET', '/api/v1/files/usage', token);
      expect(usage.body.usedBytes).toBe(0);
      const filesB = await call('GET', '/api/v1/files', token);
      for (const q of [{ hasFiles: 'true' }, { data: '{}' }] as Record<string, string>[]) {
        expect((await call('GET', '/api/v1/alerts', token, undefined, q)).body, JSON.stringify(q)).toMatchObject({ items: [], total: 0 });
      }
      // Stream aliases: none listed; none made over org A's device or in org A's project.
      const aliases = await call('GET', '/api/v1/aliases', token);
      expect(aliases.body).toEqual({ items: [] });
      expect(await call('GET', '/api/v1/aliases', token, undefined, { projectId: projectA.id })).toMatchObject({
        status: 404,
        body: { error: { code: 'PROJECT_NOT_FOUND' } },
      });
      const tapA = { deviceId: deviceA.id, key: 'temperature', from: '0' };
      expect(await call('POST', '/api/v1/aliases', token, { name: 'steal', taps: [tapA] })).toMatchObject({
        status: 404,
        body: { error: { code: 'DEVICE_NOT_FOUND' } },
      });
      expect(await call('POST', '/api/v1/aliases', token, { name: 'steal', projectId: projectA.id, taps: [{ ...tapA, deviceId: deviceB.id }] })).toMatchObject({
        status: 404,
        body: { error: { code: 'PROJECT_NOT_FOUND' } },
      });
      // The fleet map: org B's devices only (none has a position), and org A's project is not found.
      const positions = await call('GET', '/api/v1/locations/latest', token);
      expect(positions.body).toEqual({ items: [], next: null });
      expect(await call('GET', '/api/v1/locations/latest', token, undefined, { projectId: projectA.id })).toMatchObject({
        status: 404,
        body: { error: { code: 'PROJECT_NOT_FOUND' } },
      });
      for (const body of [
        devices.body,
        filesB.body,
        projects.body,
        users.body,
        keys.body,
        orgs.body,
        rules.body,
        targets.body,
        deployments.body,
        aliases.body,
        positions.body,
        reports.body,
      ]) {
        for (const secret of secretsOfA) expect(JSON.stringify(body)).not.toContain(secret);
      }
    }
    // The same queries as org A do return org A's data: the filters above are not simply broken.
    expect((await ownerA.alerts.list({ deviceId: deviceA.id })).total).toBe(1);
    expect((await call('GET', '/api/v1/files', ownerA.token!, undefined, { deviceId: deviceA.id })).body.total).toBe(1);
    expect((await call('GET', '/api/v1/alerts', ownerA.token!, undefined, { hasFiles: 'true' })).body.total).toBe(1);
    expect((await call('GET', '/api/v1/alarms', ownerA.token!, undefined, { ruleId: ids.rule })).body.total).toBe(1);
    expect((await ownerA.devices.list({ projectId: projectA.id })).total).toBe(2);
    expect((await ownerA.devices.list({ tag: 'org-a' })).items.map((d) => d.id)).toEqual([deviceA.id]);
    expect((await call('GET', '/api/v1/aliases', ownerA.token!)).body.items).toHaveLength(1);
    expect((await call('GET', '/api/v1/locations/latest', ownerA.token!)).body.items).toMatchObject([{ id: deviceA.id, lat: 52.37, lon: 4.89 }]);
    const reportsOfA = await call('GET', '/api/v1/reports', ownerA.token!, undefined, { deviceId: deviceA.id });
    expect((reportsOfA.body.items as { id: string }[]).map((r) => r.id)).toEqual([ids.report]);
    expect((await call('GET', `/api/v1/device/reports/${ids.report}`, deviceA.token)).status).toBe(200);
  });
});

describe('org B’s fleet overview', () => {
  it('counts only org B’s devices, and org A’s projectId is PROJECT_NOT_FOUND', async () => {
    const mine = await call('GET', '/api/v1/fleet/overview', userB.token!);
    expect(mine.status).toBe(200);
    const ownDevices = (await userB.devices.list()).total;
    expect((mine.body as { devices: { total: number } }).devices.total).toBe(ownDevices);
    const r = await call('GET', `/api/v1/fleet/overview?projectId=${projectA.id}`, userB.token!);
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'PROJECT_NOT_FOUND' } } });
  });
});

describe('org B’s fleet health', () => {
  it('covers only org B’s devices; org A’s project and template are not found', async () => {
    await rollUpHeartbeats(s.tether.db);
    // Org A's device sent a heartbeat: org A sees it heard. It is also at risk (as a scan would have written).
    await s.tether.db.query(
      `INSERT INTO health_warnings (device_id, score, reasons, since, first_warned_at, assessed_at) VALUES ($1, 0.9, '{"gaps grew"}', now(), now(), now())`,
      [deviceA.id],
    );
    const ofA = await call('GET', '/api/v1/health/silent', ownerA.token!, undefined, { minutes: '1440' });
    expect((ofA.body as { monitored: number }).monitored).toBeGreaterThan(0);
    const atRiskA = await call('GET', '/api/v1/health/at-risk', ownerA.token!);
    expect((atRiskA.body as { total: number }).total).toBe(1);
    const ownDevices = (await userB.devices.list()).total;
    const lists = [
      '/api/v1/health/silent',
      '/api/v1/health/gaps',
      '/api/v1/health/lifespans',
      '/api/v1/health/devices',
      '/api/v1/health/devices.csv',
      '/api/v1/health/at-risk',
    ];
    for (const path of lists) {
      const takesMinutes = !path.endsWith('/gaps') && !path.endsWith('/at-risk');
      const mine = await call('GET', path, userB.token!, undefined, takesMinutes ? { minutes: '1' } : {});
      expect(mine.status).toBe(200);
      const text = JSON.stringify(mine.body);
      expect(text).not.toContain(deviceA.id);
      for (const [param, id, code] of [
        ['projectId', projectA.id, 'PROJECT_NOT_FOUND'],
        ['templateId', ids.template, 'TEMPLATE_NOT_FOUND'],
      ] as const) {
        const r = await call('GET', path, userB.token!, undefined, { [param]: id! });
        expect(r).toMatchObject({ status: 404, body: { error: { code } } });
      }
    }
    const silent = (await call('GET', '/api/v1/health/silent', userB.token!)).body as { devices: number; monitored: number };
    expect(silent).toMatchObject({ devices: ownDevices, monitored: 0 });
    const gaps = (await call('GET', '/api/v1/health/gaps', userB.token!)).body as { gaps: { heartbeats: number } };
    expect(gaps.gaps.heartbeats).toBe(0);
    const lifespans = (await call('GET', '/api/v1/health/lifespans', userB.token!)).body as { devices: number };
    expect(lifespans.devices).toBe(0);
    const devices = (await call('GET', '/api/v1/health/devices', userB.token!)).body as { total: number };
    expect(devices.total).toBe(ownDevices);
    const csv = (await call('GET', '/api/v1/health/devices.csv', userB.token!)).body as unknown as string;
    expect(csv.trim().split('\r\n')).toHaveLength(ownDevices + 1);
    const atRisk = (await call('GET', '/api/v1/health/at-risk', userB.token!)).body as { total: number };
    expect(atRisk.total).toBe(0);
  });
});

describe('org B cannot attach its resources to org A’s', () => {
  it('creating a device with org A’s projectId is PROJECT_NOT_FOUND', async () => {
    const before = (await ownerA.projects.get(projectA.id)).deviceCount;
    const r = await call('POST', '/api/v1/devices', userB.token!, { name: 'intruder', projectId: projectA.id });
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'PROJECT_NOT_FOUND' } } });
    expect((await userB.devices.list({ q: 'intruder' })).total).toBe(0);
    expect((await ownerA.projects.get(projectA.id)).deviceCount).toBe(before);
  });

  it('moving an org B device into org A’s project is PROJECT_NOT_FOUND', async () => {
    const r = await call('PATCH', `/api/v1/devices/${deviceB.id}`, userB.token!, { projectId: projectA.id });
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'PROJECT_NOT_FOUND' } } });
    expect((await userB.devices.get(deviceB.id)).projectId).toBe(projectB.id);
  });
});

describe('live updates', () => {
  it('refuses subscriptions to org A’s device and project, and delivers no org A events', async () => {
    const liveA = await openLive(s.httpUrl, ownerA.token!);
    const liveB = await openLive(s.httpUrl, userB.token!);
    try {
      const answer = async (live: typeof liveB, msg: Record<string, unknown>) => {
        const from = live.messages.length;
        live.send(msg);
        return live.next((m) => live.messages.indexOf(m) >= from && (m.type === 'error' || m.type === 'subscribed'));
      };
      expect(await answer(liveB, { type: 'subscribe', id: 'dev', devices: [deviceA.id] })).toMatchObject({ type: 'error', code: 'DEVICE_NOT_FOUND' });
      expect(await answer(liveB, { type: 'subscribe', id: 'mixed', devices: [deviceB.id, deviceA.id] })).toMatchObject({
        type: 'error',
        code: 'DEVICE_NOT_FOUND',
      });
      expect(await answer(liveB, { type: 'subscribe', id: 'proj', project: projectA.id })).toMatchObject({ type: 'error', code: 'PROJECT_NOT_FOUND' });
      // The org-wide subscription of org B must not see org A's devices either.
      expect(await answer(liveB, { type: 'subscribe', id: 'org' })).toMatchObject({ type: 'subscribed', id: 'org' });
      expect(await answer(liveA, { type: 'subscribe', id: 'a', devices: [deviceA.id] })).toMatchObject({ type: 'subscribed' });

      const dev = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
      await publish(dev, `devices/${deviceA.id}/telemetry`, JSON.stringify({ temperature: 30 }));
      await publish(dev, `devices/${deviceA.id}/alerts`, JSON.stringify({ message: 'A leak in org A', severity: 'major' }));
      await publish(dev, `devices/${deviceA.id}/location`, JSON.stringify({ lat: 1, lon: 2 }));
      await dev.endAsync();
      // Org A's own socket gets the events, so they were published.
      await liveA.next((m) => m.type === 'telemetry' && m.deviceId === deviceA.id);
      await liveA.next((m) => m.type === 'alert' && m.deviceId === deviceA.id);
      await liveA.next((m) => m.type === 'location' && m.deviceId === deviceA.id);
      await liveA.next((m) => m.type === 'status' && m.deviceId === deviceA.id && !m.online);
      // A change to org A's alarm reaches org A's dashboards (the alarms channel), and must not reach org B's.
      expect((await call('POST', `/api/v1/alarms/${ids.alarm}/comments`, ownerA.token!, { comment: 'seen by A' })).status).toBe(200);
      await liveA.next((m) => m.type === 'alarm' && m.deviceId === deviceA.id);
      // Org B's own device publishes last; once its event arrives, anything of org A's would have too.
      const devB = await connectMqtt(s.mqttUrl, { username: deviceB.id, password: deviceB.token });
      await publish(devB, `devices/${deviceB.id}/telemetry`, JSON.stringify({ b: 1 }));
      await devB.endAsync();
      await liveB.next((m) => m.type === 'telemetry' && m.deviceId === deviceB.id);

      const leaked = liveB.messages.filter((m) => 'deviceId' in m && m.deviceId !== deviceB.id);
      expect(leaked).toEqual([]);
      expect(liveB.messages.filter((m) => m.type === 'subscribed').map((m) => (m as { id: string }).id)).toEqual(['org']);
      for (const secret of secretsOfA) expect(JSON.stringify(liveB.messages)).not.toContain(secret);
    } finally {
      liveA.close();
      liveB.close();
    }
  });

  it('an org B API key cannot subscribe to org A’s device either', async () => {
    const live = await openLive(s.httpUrl, keyB.key);
    try {
      live.send({ type: 'subscribe', devices: [deviceA.id] });
      expect(await live.next((m) => m.type === 'error' || m.type === 'subscribed')).toMatchObject({ type: 'error', code: 'DEVICE_NOT_FOUND' });
    } finally {
      live.close();
    }
  });
});

describe('MQTT device identity', () => {
  const latestKeys = async (id: string) => Object.keys((await ownerA.devices.latest(id)).values);

  it('a device that publishes under another device’s id is disconnected and nothing is stored for the other device', async () => {
    const targets = [deviceA2.id, deviceB.id];
    const stateOfB = async () => ({
      latest: (await userB.devices.latest(deviceB.id)).values,
      messages: (await userB.devices.messages(deviceB.id)).items.length,
      alerts: (await userB.alerts.list()).total,
    });
    const before = { a: (await ownerA.devices.latest(deviceA.id)).values, b: await stateOfB() };
    const channels = ['telemetry', 'alerts', 'location', 'attributes', 'heartbeat'];
    const payloads: Record<string, string> = {
      telemetry: JSON.stringify({ spoofed: 1 }),
      alerts: JSON.stringify({ message: 'spoofed' }),
      location: JSON.stringify({ lat: 1, lon: 1 }),
      attributes: JSON.stringify({ spoofed: true }),
      heartbeat: '',
    };
    for (const target of targets) {
      for (const channel of channels) {
        const c = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
        const closed = waitForClose(c);
        c.publish(`devices/${target}/${channel}`, payloads[channel]!, { qos: 1 });
        await closed;
        c.end(true);
      }
    }
    expect(await latestKeys(deviceA2.id)).toEqual([]);
    expect((await ownerA.devices.messages(deviceA2.id)).items).toEqual([]);
    expect((await ownerA.devices.attributes(deviceA2.id)).reported).toEqual({});
    expect((await ownerA.alerts.list({ deviceId: deviceA2.id })).total).toBe(0);
    expect((await ownerA.devices.locations(deviceA2.id, { from: '0' })).items).toEqual([]);
    // Any stored message would have set lastSeenAt.
    expect((await ownerA.devices.get(deviceA2.id)).status.lastSeenAt).toBeNull();
    expect(await stateOfB()).toEqual(before.b);

    // The seed-000 body naming another device is refused the same way, over MQTT and HTTP.
    const c = await connectMqtt(s.mqttUrl, { username: deviceB.id, password: deviceB.token });
    const closed = waitForClose(c);
    c.publish(`devices/${deviceB.id}/telemetry`, JSON.stringify({ device_id: deviceA.id, spoofed: 2 }), { qos: 1 });
    await closed;
    c.end(true);
    const http = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, {
      method: 'POST',
      token: deviceB.token,
      body: JSON.stringify({ device_id: deviceA.id, spoofed: 3 }),
    });
    expect(http).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await ownerA.devices.latest(deviceA.id)).values).toEqual(before.a);
    expect(await stateOfB()).toEqual(before.b);

    // The device itself may still publish: the refusals above were about the topic.
    const ok = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
    await publish(ok, `devices/${deviceA.id}/telemetry`, JSON.stringify({ own: 1 }));
    await ok.endAsync();
    expect(await latestKeys(deviceA.id)).toContain('own');
  });

  it('a device cannot subscribe to another device’s topics (SUBACK 128) but can to its own', async () => {
    const c = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token });
    try {
      // mqtt.js 5 reports a refused subscription as an error that carries the SUBACK packet.
      const grant = (topic: string) =>
        new Promise<number>((resolve, reject) =>
          c.subscribe(topic, { qos: 1 }, (err, granted, packet) => {
            const suback = (err as (Error & { packet?: typeof packet }) | null)?.packet ?? packet;
            if (suback?.granted.length === 1) return resolve(suback.granted[0] as number);
            if (err) return reject(err);
            resolve(granted![0]!.qos);
          }),
        );
      const foreign = [
        `devices/${deviceA2.id}/config`,
        `devices/${deviceA2.id}/commands/#`,
        `devices/${deviceA2.id}/#`,
        `devices/${deviceB.id}/ota`,
        `devices/${deviceB.id}/telemetry`,
        'devices/+/config',
        'devices/#',
        '#',
        `$share/g/devices/${deviceA2.id}/config`,
      ];
      for (const topic of foreign) expect(await grant(topic), topic).toBe(128);
      expect(await grant(`devices/${deviceA.id}/config`)).toBe(1);
      expect(await grant(`devices/${deviceA.id}/commands/+`)).toBe(1);
      // The connection survives refused subscriptions.
      await publish(c, `devices/${deviceA.id}/heartbeat`, '');
    } finally {
      await c.endAsync();
    }
  });

  it('a device cannot connect with another device’s id and its own token or JWT (CONNACK refused)', async () => {
    await expect(connectMqtt(s.mqttUrl, { username: deviceA2.id, password: deviceA.token })).rejects.toThrow(/Bad username or password/i);
    await expect(connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceB.token })).rejects.toThrow(/Bad username or password/i);
    const { token: jwtA } = await ownerA.devices.deviceToken(deviceA.id);
    await expect(connectMqtt(s.mqttUrl, { username: deviceA2.id, password: jwtA })).rejects.toThrow(/Bad username or password/i);
    await expect(connectMqtt(s.mqttUrl, { username: deviceB.id, password: jwtA })).rejects.toThrow(/Bad username or password/i);
    // Positive control: the same credentials with their own id connect.
    const ok = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: jwtA });
    await ok.endAsync();
    expect((await ownerA.devices.get(deviceA2.id)).status.lastConnectedAt).toBeNull();
  });
});

describe('MQTT client ids', () => {
  // MQTT-3.1.4-2: a CONNECT with a ClientId already in use closes the existing
  // session. Client ids are not tied to the device, so another org's device can
  // knock a device offline by reusing its client id.
  it('a device of org B cannot take over the MQTT session of org A’s device by reusing its client id', async () => {
    const victim = await connectMqtt(s.mqttUrl, { username: deviceA.id, password: deviceA.token, clientId: deviceA.id });
    let victimClosed = false;
    victim.on('close', () => (victimClosed = true));
    const intruder = await connectMqtt(s.mqttUrl, { username: deviceB.id, password: deviceB.token, clientId: deviceA.id }).catch(() => null);
    // Give the broker time to act on the duplicate client id.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      victim.once('close', () => (clearTimeout(t), resolve()));
    });
    await intruder?.endAsync();
    expect(victimClosed).toBe(false);
    await publish(victim, `devices/${deviceA.id}/heartbeat`, '');
    await victim.endAsync();
  });
});

describe('shared users', () => {
  // Users are global; memberships are per org. An admin of one org must not be
  // able to take over a user who also holds a higher role in another org.
  it('an admin of org C cannot reset the password of an owner of org C who also owns org A', async () => {
    const victimPw = 'victim-owner-pw';
    await ownerA.users.create({ email: 'victim@a.test', password: victimPw, role: 'owner' });
    const victim = new TetherClient({ baseUrl: s.httpUrl });
    await victim.login('victim@a.test', victimPw, orgAId);
    const orgC = await victim.orgs.create('Org C');
    const victimInC = new TetherClient({ baseUrl: s.httpUrl });
    await victimInC.login('victim@a.test', victimPw, orgC.id);
    await victimInC.users.create({ email: 'admin@c.test', password: 'admin-c-password', role: 'admin' });
    const adminC = new TetherClient({ baseUrl: s.httpUrl });
    await adminC.login('admin@c.test', 'admin-c-password');
    const victimId = (await victim.me()).id;

    const r = await call('PUT', `/api/v1/users/${victimId}`, adminC.token!, { password: 'taken-over-pw' });
    expect(r.status).toBe(403);
    await expect(new TetherClient({ baseUrl: s.httpUrl }).login('victim@a.test', 'taken-over-pw', orgAId)).rejects.toThrow();
  });
});
