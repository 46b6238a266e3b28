import type { MqttPublish } from '../../../platform/mqtt/broker.js';
import type { DeviceIdentity } from '../../devices/devices.repository.js';
import { AppError } from '../../errors.js';
import { IngestRejection } from '../../ingest/ingest-message.js';
import { refuse, type GatewayContext } from '../context.js';
import type { DeviceSession } from '../sessions.js';

/**
 * devices/{id}/ota/status: the device's report on its OTA job, recorded before
 * its PUBACK. Bad reports are refused like bad data (MQTT 5: PUBACK 0x87 with the
 * error code in the reason string; 3.1.1: the connection closes).
 */
export function acceptOtaStatus(ctx: GatewayContext, identity: DeviceIdentity, packet: MqttPublish, done: (err: Error | null) => void): void {
  const ota = ctx.hooks.ota;
  if (!ota) return refuse(ctx, identity, new IngestRejection('unknown_topic', 'OTA is not served by this node'), done);
  ota.report(identity, packet.payload as Buffer).then(
    () => done(null),
    (err: unknown) => {
      if (err instanceof AppError) {
        const reason = err.code === 'OTA_JOB_NOT_FOUND' ? 'not_authorized' : 'invalid_payload';
        return refuse(ctx, identity, new IngestRejection(reason, `${err.code}: ${err.message}`), done);
      }
      ctx.logger.warn({ err }, 'could not record an OTA report');
      done(new Error('storage unavailable'));
    },
  );
}

/** The device subscribed to devices/{id}/ota: its open job is sent, once per connection. */
export function otaSubscribed(ctx: GatewayContext, session: DeviceSession): void {
  if (!ctx.sessions.listensOta(session)) return;
  ctx.hooks.ota?.deliverHere([session.identity.deviceId]).catch((err: unknown) => ctx.logger.warn({ err }, 'OTA job delivery failed'));
}

/** After an outage: jobs released meanwhile go to the devices listening here. */
export function redeliverOta(ctx: GatewayContext): void {
  const ids = [...ctx.sessions.listeningDevices('ota')].map((d) => d.deviceId);
  if (ids.length) ctx.hooks.ota?.deliverHere(ids).catch((err: unknown) => ctx.logger.warn({ err }, 'OTA job delivery failed'));
}
