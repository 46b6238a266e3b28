import type { DeviceIdentity } from '../../devices/devices.repository.js';
import type { GatewayContext } from '../context.js';

/**
 * The device subscribed to devices/{id}/config. The broker's retained copy
 * reaches it by itself; the hook sends one when there is none (after a restart).
 */
export function configSubscribed(ctx: GatewayContext, identity: DeviceIdentity): void {
  ctx.hooks.onConfigSubscribe?.(identity);
}
