import type { UplinkChannel } from '@tether/contracts';
import type { MqttPublish } from '../../../platform/mqtt/broker.js';
import { IngestRejection } from '../../ingest/ingest-message.js';
import { refuse, type GatewayContext } from '../context.js';
import type { DeviceSession } from '../sessions.js';

/**
 * Device data (architecture §4): telemetry, alerts, heartbeat, location and
 * attributes, from devices/{id}/… or the ThingsBoard topics. Ingest decodes,
 * stores (raw message history included) and fans it out.
 */
export function acceptData(ctx: GatewayContext, session: DeviceSession, channel: UplinkChannel, packet: MqttPublish, done: (err: Error | null) => void): void {
  const identity = session.identity;
  if (packet.retain) packet.retain = false; // device data is stored by Tether, never retained in the broker
  // MQTT-3.3.4-1 / architecture §4: PUBACK only after the message is durable.
  // Aedes writes the PUBACK when `done` runs, and reads no further bytes from
  // this client until every packet of its last read is answered: with the
  // ingest budget (the publish waits for room), that is the backpressure.
  const payload = packet.payload as Buffer;
  const { ingest, windows } = ctx;
  // The connection's window: past it, the publish waits undecoded.
  // Its size on the wire, near enough (fixed header and packet id): the window reckons publishes per read from it.
  windows.enter(session, payload.length + packet.topic.length + 6, () => {
    ingest.accept(identity, channel, 'mqtt', payload, 'wait').then(
      () => {
        windows.done(session);
        done(null);
      },
      (err: unknown) => {
        windows.done(session);
        if (err instanceof IngestRejection) return refuse(ctx, identity, err, done, true);
        // Not committed: close without an ack so the device retries.
        done(new Error('storage unavailable'));
      },
    );
  });
}
