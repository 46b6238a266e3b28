/**
 * Configuration values: named JSON values on
 * the org, a project or a device. A device's configuration resolves device →
 * project → org, and each value says where it came from.
 */
import type { ConfigSource, ResolvedConfig, ResponseOf, TetherClient } from '@tether/api-client';

export type { ConfigSource };
export type ConfigTarget = { scope: 'device'; id: string } | { scope: 'project'; id: string } | { scope: 'org' };

export interface ConfigEntry {
  key: string;
  value: unknown;
  /** Set on resolved (device) configuration only. */
  source?: ConfigSource;
  updatedAt?: string;
}

/** The server's rule for keys. */
export const CONFIG_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

function base(t: ConfigTarget): string {
  if (t.scope === 'device') return `/api/v1/devices/${t.id}/config`;
  if (t.scope === 'project') return `/api/v1/projects/${t.id}/config`;
  return '/api/v1/org/config';
}

/** A device's resolved configuration, or the values set on a project or the org; sorted by key. */
export async function loadConfig(client: TetherClient, t: ConfigTarget): Promise<ConfigEntry[]> {
  if (t.scope === 'device') {
    const r = await client.request<ResolvedConfig>('GET', base(t));
    return Object.entries(r.values)
      .map(([key, v]) => ({ key, value: v.value, source: v.source, updatedAt: v.updatedAt }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }
  const r = await client.request<ResponseOf<'/api/v1/org/config', 'get'>>('GET', base(t));
  return Object.entries(r.values)
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

export const setConfigValue = (client: TetherClient, t: ConfigTarget, key: string, value: unknown) =>
  client.request<void>('PUT', `${base(t)}/${encodeURIComponent(key)}`, { value });
export const deleteConfigValue = (client: TetherClient, t: ConfigTarget, key: string) =>
  client.request<void>('DELETE', `${base(t)}/${encodeURIComponent(key)}`);
