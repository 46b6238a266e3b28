/**
 * devices/{id}/ota/status: acknowledged so devices move on, and not recorded
 * yet (nothing rolls out firmware over MQTT today; the OTA module takes it here).
 */
export function acceptOtaStatus(done: (err: Error | null) => void): void {
  done(null);
}
