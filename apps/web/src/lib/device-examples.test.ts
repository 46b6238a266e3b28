import { describe, expect, it } from 'vitest';
import { curlExample, exampleTarget, mosquittoPubExample } from './device-examples';

const id = '0b7e6a52-3f0c-4b1e-9a55-2d0e4f1c9a10';
const token = 'dt_Ab-c_123';
const loc = { origin: 'http://tether.local:8080', hostname: 'tether.local' };

describe('device examples', () => {
  const target = exampleTarget(id, token, { publicUrl: null, mqttPort: 18830 }, loc);

  it('fills mosquitto_pub with the host, the port the server reports, id, token and topic', () => {
    expect(mosquittoPubExample(target)).toBe(
      ['mosquitto_pub -h tether.local -p 18830 -q 1 \\', `  -u ${id} -P ${token} \\`, `  -t devices/${id}/telemetry -m '{"temperature":21.5}'`].join('\n'),
    );
  });

  it('fills curl with the server origin and the token', () => {
    expect(curlExample(target)).toBe(
      [
        'curl -X POST http://tether.local:8080/api/v1/device/telemetry \\',
        `  -H 'authorization: Bearer ${token}' \\`,
        `  -H 'content-type: application/json' -d '{"temperature":21.5}'`,
      ].join('\n'),
    );
  });

  it('prefers the public URL, and falls back to port 1883 when the server is not known', () => {
    const pub = exampleTarget(id, token, { publicUrl: 'https://iot.example.com', mqttPort: 8883 }, loc);
    expect(pub).toMatchObject({ origin: 'https://iot.example.com', mqttHost: 'iot.example.com', mqttPort: 8883 });
    expect(mosquittoPubExample(exampleTarget(id, token, null, loc))).toContain('-h tether.local -p 1883 ');
  });

  it('quotes what the shell would otherwise split', () => {
    expect(mosquittoPubExample({ ...target, token: "it's" })).toContain(`-P 'it'\\''s'`);
  });
});
