import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { CopyBlock } from '../../components/ui/copy-block';
import { Loading } from '../../components/ui/state-views';
import { curlExample, DEFAULT_MQTT_PORT, exampleTarget, mosquittoPubExample } from '../../lib/device-examples';
import { getServerInfo } from './server-info';

/** A device's access token, shown once, with commands that use it against this server's real endpoints. */
export function DeviceCredentials({ deviceId, token }: { deviceId: string; token: string }) {
  const { client } = useSession();
  const info = useAsync(() => getServerInfo(client), [client]);
  const server = info.data ? { publicUrl: info.data.publicUrl, mqttPort: info.data.mqtt?.port ?? null } : null;
  const target = exampleTarget(deviceId, token, server);
  const mqtt = info.data?.mqtt;

  let mqttExample;
  if (info.loading && !info.data) mqttExample = <Loading label="Looking up the MQTT port…" />;
  else if (info.data && !mqtt) {
    mqttExample = (
      <p className="notice" data-testid="no-mqtt">
        This server runs no MQTT broker: devices send over HTTP, as below.
      </p>
    );
  } else {
    mqttExample = (
      <>
        <CopyBlock label="Publish over MQTT with mosquitto_pub" value={mosquittoPubExample(target)} multiline testId="mosquitto-example" />
        <p className="muted small" data-testid="mqtt-ports">
          {mqtt ? (
            <>
              The broker listens on port {mqtt.port}
              {mqtt.tlsPort ? `, and with TLS on port ${mqtt.tlsPort}` : ''}
              {mqtt.wsPath ? (
                <>
                  ; MQTT over WebSocket is at <code>{mqtt.wsPath}</code> on this server
                </>
              ) : null}
              . MQTT 3.1.1 (mosquitto_pub&apos;s default) and 5 are accepted.
            </>
          ) : (
            <>
              The server could not be asked for its MQTT port, so this assumes the default {DEFAULT_MQTT_PORT}; if the server sets <code>TETHER_MQTT_PORT</code>
              , use that port instead.
            </>
          )}
        </p>
      </>
    );
  }

  return (
    <div className="credentials" data-testid="device-credentials">
      <p className="notice notice-warning" role="note">
        <strong>Copy the access token now.</strong> It is shown only this once; Tether keeps only a hash of it. If it is lost, rotate the credentials to get a
        new one.
      </p>
      <CopyBlock label="Device id (MQTT username)" value={deviceId} testId="device-id" />
      <CopyBlock label="Access token (MQTT password)" value={token} testId="device-token" />
      {mqttExample}
      <CopyBlock label="Or over HTTP with curl" value={curlExample(target)} multiline testId="curl-example" />
    </div>
  );
}
