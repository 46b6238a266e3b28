import { expect, it } from 'vitest';
import { scrubCredentials } from './logger.js';

it('scrubs credentials by shape, in the ThingsBoard path and in a query string, and leaves the rest', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  expect(scrubCredentials(`{"url":"/api/v1/dt_${'a'.repeat(32)}/telemetry","msg":"key tk_${'b'.repeat(43)} refresh rt_${'c'.repeat(43)} ${jwt}"}`)).toBe(
    '{"url":"/api/v1/[redacted]/telemetry","msg":"key [redacted] refresh [redacted] [redacted]"}',
  );
  // A token of any shape in the ThingsBoard path (an imported one, say) and after ?token=.
  expect(scrubCredentials('POST /api/v1/A1_TEST_TOKEN/attributes?x=1')).toBe('POST /api/v1/[redacted]/attributes?x=1');
  expect(scrubCredentials('/api/v1/live?org=1&token=opaque-secret&x=2')).toBe('/api/v1/live?org=1&token=[redacted]&x=2');
  expect(scrubCredentials('/api/v1/device/telemetry /api/v1/devices/123/telemetry dt_short')).toBe(
    '/api/v1/device/telemetry /api/v1/devices/123/telemetry dt_short',
  );
});
