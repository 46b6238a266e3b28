import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const FleetOverview = Type.Object({
  devices: Type.Object({
    total: Type.Integer(),
    online: Type.Integer({ description: 'Connected to the MQTT broker now' }),
    offline: Type.Integer({ description: 'total − online' }),
    active: Type.Integer({ description: 'Sent a message within their inactivity timeout' }),
    inactive: Type.Integer({ description: 'total − active: never-seen devices included' }),
    neverSeen: Type.Integer({ description: 'Never sent a message' }),
  }),
  alerts24h: Type.Object({ total: Type.Integer(), critical: Type.Integer() }, { description: 'Alerts of the last 24 hours' }),
  messagesPerMinute: Type.Array(Type.Object({ minute: Type.String({ format: 'date-time', description: "The minute's start" }), count: Type.Integer() }), {
    description: 'The last 60 minutes, oldest first, the current minute last',
  }),
  recentlySilent: Type.Array(Type.Object({ id: Uuid, name: Type.String(), lastSeenAt: Timestamp }), {
    maxItems: 10,
    description: 'Devices seen before but silent past their inactivity timeout, most recently seen first',
  }),
});
export type FleetOverview = Static<typeof FleetOverview>;

titled({ FleetOverview });
