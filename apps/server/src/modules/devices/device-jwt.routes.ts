import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { bearerToken } from '../../platform/http/server.js';
import { AppError } from '../errors.js';
import { secretLimits } from '../../platform/http/rate-limits.js';
import { hashToken } from '../../platform/security/secrets.js';

/** Device JWT requests: a device renews its token a few times a day; a NAT gateway may front a whole fleet. */
const DEVICE_LIMITS = { perIp: 1200, perAccount: 10 };
import type { AccountsService } from '../accounts/accounts.service.js';
import { DeviceJwt, DeviceJwtVerification } from './devices.schemas.js';
import type { DevicesService } from './devices.service.js';

/**
 * Device JWTs (seed 000). The caller of device-token is a user who may manage
 * the device, or the device itself with its access token.
 */
export function deviceJwtRoutes(devices: DevicesService, accounts: AccountsService) {
  return async (app: App) => {
    app.post(
      '/api/v1/auth/device-token',
      {
        // Per token (hashed: no raw secret is kept), and per IP with room for a fleet behind one NAT.
        preHandler: secretLimits(app, DEVICE_LIMITS, (req) => {
          const token = bearerToken(req);
          return token ? hashToken(token) : null;
        }),
        schema: { tags: ['auth'], body: Type.Optional(Type.Object({ deviceId: Type.Optional(Type.String()) })), response: { 200: DeviceJwt } },
      },
      async (req) => {
        const token = bearerToken(req);
        if (!token) throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <user token, API key or device token>');
        const deviceId = req.body?.deviceId;
        // Device tokens and JWTs identify the device itself.
        const self = token.startsWith('dt_') || !token.startsWith('tk_') ? await devices.authenticateToken(token).catch(() => null) : null;
        if (self) {
          if (deviceId && deviceId.toLowerCase() !== self.deviceId) throw new AppError('FORBIDDEN', 'a device may only request its own token');
          return devices.issueJwt(self);
        }
        const actor = await accounts.authenticate(token);
        if (!deviceId) throw new AppError('VALIDATION_FAILED', 'deviceId is required');
        return devices.issueJwtForUser(actor, deviceId);
      },
    );

    // Public, and it checks a secret: limited per IP.
    app.post(
      '/api/v1/auth/device-verify',
      {
        preHandler: secretLimits(app, DEVICE_LIMITS, () => null),
        schema: { tags: ['auth'], security: [], body: Type.Object({ token: Type.String() }), response: { 200: DeviceJwtVerification } },
      },
      async (req) => {
        const { reason: _reason, ...result } = await devices.verifyJwt(req.body.token);
        return result;
      },
    );
  };
}
