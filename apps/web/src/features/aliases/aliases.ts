/**
 * Stream aliases (seed 004, issue 15): a virtual stream stitched from taps of
 * device keys over time, read and charted as a device key is.
 */
import type { BodyOf, ResponseOf, TelemetrySeries, TetherClient } from '@tether/api-client';
import type { TelemetryQuery } from '../../lib/telemetry-range';

export type Alias = ResponseOf<'/api/v1/aliases/{id}', 'get'>;
export type AliasInput = BodyOf<'/api/v1/aliases', 'post'>;
export type AliasPatch = BodyOf<'/api/v1/aliases/{id}', 'patch'>;
export type AliasTapInput = AliasInput['taps'][number];

export const listAliases = (client: TetherClient, projectId?: string) =>
  client.request<ResponseOf<'/api/v1/aliases', 'get'>>('GET', '/api/v1/aliases', undefined, projectId ? { projectId } : undefined);
export const getAlias = (client: TetherClient, id: string) => client.request<Alias>('GET', `/api/v1/aliases/${id}`);
export const createAlias = (client: TetherClient, input: AliasInput) => client.request<Alias>('POST', '/api/v1/aliases', input);
export const updateAlias = (client: TetherClient, id: string, patch: AliasPatch) => client.request<Alias>('PATCH', `/api/v1/aliases/${id}`, patch);
export const deleteAlias = (client: TetherClient, id: string) => client.request<void>('DELETE', `/api/v1/aliases/${id}`);
/** The same query and answer as a device's history. */
export const aliasTelemetry = (client: TetherClient, id: string, q: TelemetryQuery) =>
  client.request<TelemetrySeries>('GET', `/api/v1/aliases/${id}/telemetry`, undefined, q);

/** A tap as the editor holds it: the start as a datetime-local string. */
export interface TapForm {
  deviceId: string;
  key: string;
  from: string;
}

/** The tap that feeds the alias at `at`: the last one started by then. */
export function tapAt<T extends { from: string }>(taps: readonly T[], at: number): T | null {
  let found: T | null = null;
  for (const t of taps) if (Date.parse(t.from) <= at) found = t;
  return found;
}
