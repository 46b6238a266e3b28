import { randomUUID } from 'node:crypto';
import type { MqttPublish } from '../../../platform/mqtt/broker.js';
import type { DeviceIdentity } from '../../devices/devices.repository.js';
import type { ProvisionRequest, ProvisionResponse } from '../../provisioning/provisioning.schemas.js';
import type { DeviceSession } from '../sessions.js';

/** ThingsBoard's MQTT provisioning: username `provision`, no password, these two topics. */
export const PROVISION_USERNAME = 'provision';
export const PROVISION_REQUEST_TOPIC = '/provision/request';
export const PROVISION_RESPONSE_TOPIC = '/provision/response';

export interface Provisioner {
  provision(req: ProvisionRequest): Promise<ProvisionResponse>;
}

/** A provisioning connection: no device and no org; deviceId only keeps client ids and CONNECT throttles apart. */
export const provisioningIdentity = (): DeviceIdentity => ({ deviceId: `provision/${randomUUID()}`, orgId: '', projectId: null, provisioning: true });

/** Connections that have sent their one request. */
const answered = new WeakSet<DeviceSession>();

/**
 * A provisioning connection's publish: one request on /provision/request,
 * answered to this client alone on /provision/response with ThingsBoard's
 * `{status: "SUCCESS", credentialsType, credentialsValue}` (and the deviceId),
 * or `{status: "FAILURE", errorMsg, code}` with Tether's stable error code.
 * Anything else, or a second request, closes the connection. The request
 * reaches no subscriber and is never retained: it carries the secret.
 */
export function acceptProvisionRequest(provisioner: Provisioner, session: DeviceSession, packet: MqttPublish, done: (err: Error | null) => void): void {
  packet.retain = false;
  if (packet.topic !== PROVISION_REQUEST_TOPIC || answered.has(session))
    return done(new Error(`a provisioning connection may publish once, to ${PROVISION_REQUEST_TOPIC}`));
  answered.add(session);
  const reply = (body: unknown) => {
    session.publish(
      { cmd: 'publish', topic: PROVISION_RESPONSE_TOPIC, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false },
      () => {},
    );
    done(null);
  };
  const req = parseRequest(packet.payload);
  if (!req) return reply({ status: 'FAILURE', code: 'VALIDATION_FAILED', errorMsg: 'send JSON {deviceName?, provisionDeviceKey, provisionDeviceSecret}' });
  provisioner.provision(req).then(reply, (err: unknown) => {
    const code = (err as { code?: unknown }).code;
    // Only a domain error's message is told; anything else (the database away) is a retry-later.
    if (typeof code === 'string' && typeof (err as { status?: unknown }).status === 'number')
      return reply({ status: 'FAILURE', code, errorMsg: (err as Error).message });
    reply({ status: 'FAILURE', code: 'UNAVAILABLE', errorMsg: 'provisioning is unavailable; try again later' });
  });
}

function parseRequest(payload: Buffer | string): ProvisionRequest | null {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString());
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object') return null;
  const { deviceName, provisionDeviceKey, provisionDeviceSecret } = body as Record<string, unknown>;
  const ok = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
  if ((deviceName !== undefined && !ok(deviceName, 64)) || !ok(provisionDeviceKey, 200) || !ok(provisionDeviceSecret, 200)) return null;
  return { ...(deviceName === undefined ? {} : { deviceName }), provisionDeviceKey, provisionDeviceSecret };
}
