/**
 * The search box's choices for one answer of GET /search: its groups (devices,
 * projects, properties) as one list, so arrow keys walk through all of them,
 * and last the device list filtered by the same text.
 */
import type { DeviceMatch, SearchResults } from '@tether/api-client';

export type SearchGroup = 'devices' | 'projects' | 'properties';

export interface SearchOption {
  key: string;
  /** null: the last choice, every device matching. */
  group: SearchGroup | null;
  href: string;
  label: string;
  /** What matched, when the label does not show it. */
  detail: string | null;
}

export const GROUP_TITLES: Record<SearchGroup, string> = { devices: 'Devices', projects: 'Projects', properties: 'Properties' };

const deviceDetail = ({ field, text }: DeviceMatch['matched']): string | null => {
  if (field === 'name') return null;
  // Metadata and property texts read `path: value` already.
  return field === 'metadata' || field === 'property' ? text : `${field} ${text}`;
};

export const devicesMatchingHref = (q: string) => `/devices?q=${encodeURIComponent(q)}`;

export function searchOptions(q: string, r: SearchResults): SearchOption[] {
  return [
    ...r.devices.map((d) => ({ key: `d-${d.id}`, group: 'devices' as const, href: `/devices/${d.id}`, label: d.name, detail: deviceDetail(d.matched) })),
    ...r.projects.map((p) => ({
      key: `p-${p.id}`,
      group: 'projects' as const,
      href: `/projects/${p.id}`,
      label: p.name,
      detail: p.matched.field === 'name' ? null : p.matched.text,
    })),
    ...r.properties.map((p) => ({
      key: `pr-${p.entityKind}-${p.entityId}-${p.name}`,
      group: 'properties' as const,
      href: `/${p.entityKind === 'device' ? 'devices' : 'projects'}/${p.entityId}`,
      label: `${p.name}: ${p.value}`,
      detail: `${p.entityKind} ${p.entityName}`,
    })),
    { key: 'all', group: null, href: devicesMatchingHref(q), label: `See all devices matching “${q}”`, detail: null },
  ];
}

/** The label cut around the first place it contains the text, in any case, for a <mark>; null when it does not. */
export function highlight(label: string, q: string): [string, string, string] | null {
  const lower = label.toLowerCase();
  // Lower-casing that changes a length (rare letters) would put the mark in the wrong place: leave it out.
  if (!q || lower.length !== label.length) return null;
  const at = lower.indexOf(q.toLowerCase());
  return at < 0 ? null : [label.slice(0, at), label.slice(at, at + q.length), label.slice(at + q.length)];
}
