/** Fleet health (issue 16): the API calls of the health page and how its numbers read. */
import type { QueryOf, ResponseOf, Schemas, TetherClient } from '@tether/api-client';

export type SilentDevices = Schemas['SilentDevices'];
export type FleetGaps = Schemas['FleetGaps'];
export type Lifespans = Schemas['Lifespans'];
export type AtRiskDevices = Schemas['AtRiskDevices'];
export type AtRiskDevice = Schemas['AtRiskDevice'];
export type DeviceGaps = Schemas['DeviceGaps'];
export type GapBucket = FleetGaps['histogram'][number];

/** The fleet selection every health question takes, and the silence threshold. */
export interface HealthFilter {
  projectId?: string;
  templateId?: string;
  tag?: string;
  minutes: number;
}

export const SILENT_PAGE = 25;
const selection = (f: HealthFilter) => ({ projectId: f.projectId, templateId: f.templateId, tag: f.tag });

export const fetchSilent = (client: TetherClient, f: HealthFilter, offset: number) =>
  client.request<ResponseOf<'/api/v1/health/silent', 'get'>>('GET', '/api/v1/health/silent', undefined, {
    ...selection(f),
    minutes: f.minutes,
    limit: SILENT_PAGE,
    offset,
  } satisfies QueryOf<'/api/v1/health/silent', 'get'>);

export const fetchGaps = (client: TetherClient, f: HealthFilter) =>
  client.request<ResponseOf<'/api/v1/health/gaps', 'get'>>(
    'GET',
    '/api/v1/health/gaps',
    undefined,
    selection(f) satisfies QueryOf<'/api/v1/health/gaps', 'get'>,
  );

export const fetchLifespans = (client: TetherClient, f: HealthFilter) =>
  client.request<ResponseOf<'/api/v1/health/lifespans', 'get'>>('GET', '/api/v1/health/lifespans', undefined, {
    ...selection(f),
    minutes: f.minutes,
  } satisfies QueryOf<'/api/v1/health/lifespans', 'get'>);

export const fetchAtRisk = (client: TetherClient, f: HealthFilter) =>
  client.request<ResponseOf<'/api/v1/health/at-risk', 'get'>>('GET', '/api/v1/health/at-risk', undefined, {
    ...selection(f),
    limit: 100,
  } satisfies QueryOf<'/api/v1/health/at-risk', 'get'>);

/** One device's heartbeats over the last 24 hours with the gap before each (the server's default range). */
export const fetchDeviceGaps = (client: TetherClient, id: string) =>
  client.request<ResponseOf<'/api/v1/health/devices/{id}/gaps', 'get'>>('GET', `/api/v1/health/devices/${encodeURIComponent(id)}/gaps`);

/**
 * Downloads the per-device CSV. A link cannot carry the bearer token, so it is
 * fetched and handed to the browser as a file.
 */
export async function downloadHealthCsv(client: TetherClient, f: HealthFilter): Promise<void> {
  const query = { ...selection(f), minutes: f.minutes } satisfies QueryOf<'/api/v1/health/devices.csv', 'get'>;
  const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '') as [string, string][]);
  const get = () => fetch(`/api/v1/health/devices.csv?${qs}`, { headers: { authorization: `Bearer ${client.token}` } });
  let res = await get();
  if (res.status === 401 && client.refreshToken) {
    await client.refresh();
    res = await get();
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    throw new Error(body.error?.message ?? `The download failed (HTTP ${res.status})`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = 'fleet-health.csv';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const trim = (n: number) => String(Number(n.toFixed(1)));

/** A histogram bound in its own unit: "45 s", "1.5 min", "12 h", "1 d". */
export function formatSpan(s: number): string {
  if (s < 60) return `${trim(s)} s`;
  if (s < 3600) return `${trim(s / 60)} min`;
  if (s < 86400) return `${trim(s / 3600)} h`;
  return `${trim(s / 86400)} d`;
}

/** A bucket's label: "1–2 min" when both ends share a unit, "45 s–1 min" when not, "over 1 d" when open. */
export function bucketLabel(b: Pick<GapBucket, 'fromS' | 'toS'>): string {
  if (b.toS === null) return `over ${formatSpan(b.fromS)}`;
  if (b.fromS === 0) return `under ${formatSpan(b.toS)}`;
  const [from, to] = [formatSpan(b.fromS), formatSpan(b.toS)];
  const [fromN, fromU] = from.split(' ');
  const [toN, toU] = to.split(' ');
  return fromU === toU ? `${fromN}–${toN} ${toU}` : `${from}–${to}`;
}

/** A measured duration with a sensible unit and one decimal: "62.3 s", "4.1 min", "3.5 h", "2.3 d". */
export function formatDuration(s: number | null): string {
  if (s === null) return '—';
  if (s < 90) return `${trim(s)} s`;
  if (s < 90 * 60) return `${trim(s / 60)} min`;
  if (s < 48 * 3600) return `${trim(s / 3600)} h`;
  return `${trim(s / 86400)} d`;
}

/** Days to a duration, for lifespans: "12.5 days", "6 h" under a day. */
export function formatDays(days: number | null): string {
  if (days === null) return '—';
  if (days < 1) return `${trim(days * 24)} h`;
  return `${trim(days)} ${days === 1 ? 'day' : 'days'}`;
}

/** A share 0..1 as a percentage: "12.5 %"; "—" with nothing to divide by. */
export function formatShare(share: number | null): string {
  if (share === null) return '—';
  return `${trim(share * 100)} %`;
}

/** The histogram without its empty ends: 25 buckets mostly hold nothing, and the chart should show where the gaps are. */
export function trimHistogram(hist: readonly GapBucket[]): GapBucket[] {
  const first = hist.findIndex((b) => b.count > 0);
  if (first < 0) return [];
  let last = hist.length - 1;
  while (hist[last]!.count === 0) last--;
  return hist.slice(first, last + 1);
}
