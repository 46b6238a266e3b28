/**
 * Units for telemetry keys. Tether stores bare numbers, so a unit comes from the
 * device's metadata (`{"units":{"temperature":"°F"}}`), else from its template's
 * telemetry specs, else from the key's name. Templates also give a display range.
 */

import type { TelemetryKeySpec } from '@tether/api-client';

/** A template's expected telemetry key (GET /templates/{id} → telemetry). */
export type { TelemetryKeySpec };

const BY_NAME: [RegExp, string][] = [
  [/^(temp|temperature)(_c)?$|_c$|celsius/, '°C'],
  [/_f$|fahrenheit/, '°F'],
  [/humidity|^rh$/, '%'],
  [/battery_?(v|volt|voltage)$/, 'V'],
  [/battery|fuel|percent|_pct$|soc$/, '%'],
  [/rssi/, 'dBm'],
  [/snr/, 'dB'],
  [/volt|_v$/, 'V'],
  [/current|amps?$|_a$/, 'A'],
  [/kwh|energy/, 'kWh'],
  [/power|watts?$|_w$/, 'W'],
  [/pressure|hpa/, 'hPa'],
  [/speed/, 'km/h'],
  [/co2|ppm/, 'ppm'],
  [/pm2_?5|pm10/, 'µg/m³'],
  [/lux|illuminance/, 'lx'],
  [/uptime|_s$|seconds/, 's'],
  [/latency|_ms$/, 'ms'],
  [/altitude|^alt$/, 'm'],
  [/heading|bearing/, '°'],
];

export function unitFor(key: string, metadata?: Record<string, unknown>, specs?: readonly TelemetryKeySpec[]): string | null {
  const units = metadata?.units;
  if (units && typeof units === 'object' && !Array.isArray(units)) {
    const u = (units as Record<string, unknown>)[key];
    if (typeof u === 'string' && u.trim()) return u.trim();
  }
  const fromTemplate = specs?.find((s) => s.name === key)?.unit?.trim();
  if (fromTemplate) return fromTemplate;
  const k = key.toLowerCase();
  for (const [re, unit] of BY_NAME) if (re.test(k)) return unit;
  return null;
}

export function formatValue(value: unknown, unit: string | null): string {
  if (typeof value === 'number') {
    const text = Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
    return unit ? `${text} ${unit}` : text;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/** The template's display range of a key, if it names either end. */
export function displayRangeFor(key: string, specs?: readonly TelemetryKeySpec[]): { min?: number; max?: number } | null {
  const s = specs?.find((x) => x.name === key);
  if (!s || (typeof s.min !== 'number' && typeof s.max !== 'number')) return null;
  return { ...(typeof s.min === 'number' ? { min: s.min } : {}), ...(typeof s.max === 'number' ? { max: s.max } : {}) };
}

/**
 * A reading outside its template's range, described for a person; null when inside or
 * when there is no range. The range is advisory: such readings are stored as sent.
 */
export function outOfRangeNote(value: unknown, range: { min?: number; max?: number } | null, unit: string | null): string | null {
  if (!range || typeof value !== 'number' || !Number.isFinite(value)) return null;
  const expected =
    range.min !== undefined && range.max !== undefined
      ? `${formatValue(range.min, null)}–${formatValue(range.max, unit)}`
      : range.min !== undefined
        ? `≥ ${formatValue(range.min, unit)}`
        : `≤ ${formatValue(range.max!, unit)}`;
  if (range.min !== undefined && value < range.min) return `Below the expected range (${expected})`;
  if (range.max !== undefined && value > range.max) return `Above the expected range (${expected})`;
  return null;
}

/** 262144 → "256 KB"; 3.5 MB with one decimal. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  if (n < 1024 ** 3) return `${+(n / 1024 / 1024).toFixed(1)} MB`;
  return `${+(n / 1024 ** 3).toFixed(2)} GB`;
}
