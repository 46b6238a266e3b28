/**
 * A second keeper of device tokens: an external broker that authenticates
 * devices from its own client list (Mosquitto's dynamic security plugin,
 * gateway/broker-credentials.ts). Tether stores tokens only hashed, so the
 * broker can be told a token only when it is issued: the devices service
 * calls `put` inside the transaction that stores the token, and the token is
 * committed only if the broker took it.
 */
export interface CredentialMirror {
  /** The broker accepts `token` for the device from now on (and no earlier one). Throws if it cannot: nothing is then committed. */
  put(device: { id: string; orgId: string }, token: string): Promise<void>;
  /** After a revoke or a delete is committed: the broker refuses the device from now on. Never throws; what fails is retried. */
  remove(deviceId: string): Promise<void>;
}
