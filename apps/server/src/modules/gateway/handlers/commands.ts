import type { MqttPublish } from '../../../platform/mqtt/broker.js';
import type { CommandsService } from '../../commands/commands.service.js';
import type { DeviceIdentity } from '../../devices/devices.repository.js';
import { IngestRejection } from '../../ingest/ingest-message.js';
import { refuse, type GatewayContext } from '../context.js';
import type { DeviceSession } from '../sessions.js';

/** devices/{id}/commands/{commandId}/result: stored before its PUBACK, like any device data. */
export function acceptCommandResult(
  ctx: GatewayContext,
  commands: CommandsService,
  identity: DeviceIdentity,
  commandId: string,
  packet: MqttPublish,
  done: (err: Error | null) => void,
): void {
  commands.complete(identity, commandId, packet.payload as Buffer).then(
    () => done(null),
    (err: unknown) => (err instanceof IngestRejection ? refuse(ctx, identity, err, done) : done(new Error('storage unavailable'))),
  );
}

/** The device subscribed to its command topic: the commands queued for it are sent, once per connection. */
export function commandsSubscribed(ctx: GatewayContext, session: DeviceSession): void {
  // A second command subscription of the same connection resends nothing.
  if (!ctx.sessions.listens(session)) return;
  ctx.hooks.commands?.deliverPending(session.identity, { newSession: true }).catch((err: unknown) => ctx.logger.warn({ err }, 'command delivery failed'));
}

/** MQTT-4.3.2: the device's PUBACK for a command publish means it was delivered. */
export function commandAcked(ctx: GatewayContext, identity: DeviceIdentity, commandId: string): void {
  ctx.hooks.commands?.markDelivered(identity, commandId).catch((err: unknown) => ctx.logger.warn({ err }, 'could not record command delivery'));
}

/** After an outage: commands queued meanwhile go to the devices listening here. */
export function redeliverCommands(ctx: GatewayContext): void {
  for (const identity of ctx.sessions.listeningDevices()) {
    ctx.hooks.commands?.deliverPending(identity).catch((err: unknown) => ctx.logger.warn({ err }, 'command delivery failed'));
  }
}
