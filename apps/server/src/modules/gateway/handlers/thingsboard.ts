import { thingsboardTopic, type UplinkChannel } from '@tether/contracts';

/**
 * ThingsBoard-compatible device topics (architecture §4), so existing firmware
 * works unchanged: the device is the connection's (its access token was the
 * MQTT username), not named in the topic. The data channel of `topic`, or null.
 * v1/devices/me/rpc/request/+ is not served yet: a publish there is refused
 * as outside the device's tree, and a subscription to it gets SUBACK 0x80.
 */
export function thingsboardChannel(topic: string): UplinkChannel | null {
  if (topic === thingsboardTopic.telemetry) return 'telemetry';
  if (topic === thingsboardTopic.attributes) return 'attributes';
  return null;
}
