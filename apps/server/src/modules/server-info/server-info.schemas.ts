import { Type, type Static } from 'typebox';
import { titled } from '../../platform/http/schemas.js';

export const ServerInfo = Type.Object({
  version: Type.String(),
  publicUrl: Type.Union([Type.String(), Type.Null()], { description: 'The URL the server is reached at (TETHER_PUBLIC_URL); null: not configured' }),
  mqtt: Type.Union(
    [
      Type.Object({
        port: Type.Integer({ description: 'Plain MQTT over TCP' }),
        tlsPort: Type.Union([Type.Integer(), Type.Null()], { description: 'MQTT over TLS; null: TLS is off' }),
        wsPath: Type.Union([Type.String(), Type.Null()], { description: 'MQTT over WebSocket: the path on this HTTP server' }),
      }),
      Type.Null(),
    ],
    { description: 'Where devices connect over MQTT; null: this node runs no broker' },
  ),
});
export type ServerInfo = Static<typeof ServerInfo>;

titled({ ServerInfo });
