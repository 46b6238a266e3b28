import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const ProvisioningKey = Type.Object({
  projectId: Uuid,
  key: Type.String({ description: 'provisionDeviceKey: goes into the firmware of every device of the project' }),
  enabled: Type.Boolean({ description: 'When false, provisioning and IMEI login with this key are refused' }),
  allowReprovision: Type.Boolean({
    description: 'What a second request for a serial gets: false, 409 DEVICE_ALREADY_PROVISIONED; true, a new token (the old one and its JWTs revoked)',
  }),
  createdAt: Timestamp,
  rotatedAt: Timestamp,
});
export type ProvisioningKey = Static<typeof ProvisioningKey>;

export const ProvisioningKeyWithSecret = Type.Object({
  ...ProvisioningKey.properties,
  secret: Type.String({ description: 'provisionDeviceSecret: shown once, only its hash is stored' }),
});
export type ProvisioningKeyWithSecret = Static<typeof ProvisioningKeyWithSecret>;

/** ThingsBoard's provisioning request (HTTP body, MQTT /provision/request payload). */
export const ProvisionRequest = Type.Object({
  deviceName: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description:
        "The device's serial or IMEI: its name and serial in Tether. Left out (ThingsBoard allows it): a new device with a generated name and no serial",
    }),
  ),
  provisionDeviceKey: Type.String({ minLength: 1, maxLength: 200 }),
  provisionDeviceSecret: Type.String({ minLength: 1, maxLength: 200 }),
});
export type ProvisionRequest = Static<typeof ProvisionRequest>;

export const ProvisionResponse = Type.Object({
  status: Type.Literal('SUCCESS'),
  credentialsType: Type.Literal('ACCESS_TOKEN'),
  credentialsValue: Type.String({ description: 'The device access token (dt_…): shown once' }),
  deviceId: Uuid,
});
export type ProvisionResponse = Static<typeof ProvisionResponse>;

/** Seed 003's IMEI login: a pre-registered device names itself and shows its project's provisioning credentials. */
export const DeviceLoginRequest = Type.Object({
  serial: Type.String({ minLength: 1, maxLength: 64, description: 'The serial or IMEI the device was registered with' }),
  provisionDeviceKey: Type.String({ minLength: 1, maxLength: 200 }),
  provisionDeviceSecret: Type.String({ minLength: 1, maxLength: 200 }),
});
export type DeviceLoginRequest = Static<typeof DeviceLoginRequest>;

titled({ ProvisioningKey, ProvisioningKeyWithSecret, ProvisionRequest, ProvisionResponse, DeviceLoginRequest });
