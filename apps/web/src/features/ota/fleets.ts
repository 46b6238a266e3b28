/**
 * Fleets (issue 14): the devices a deployment goes to, either listed (static)
 * or every device a selector matches at the time (project, template, tags and
 * a semver range over the reported firmware version).
 */
import type { BodyOf, ResponseOf, TetherClient } from '@tether/api-client';
import { parseTags } from '../devices/device-fields';

export type Fleet = ResponseOf<'/api/v1/fleets/{id}', 'get'>;
export type FleetInput = BodyOf<'/api/v1/fleets', 'post'>;
export type FleetPatch = BodyOf<'/api/v1/fleets/{id}', 'patch'>;
export type FleetSelector = BodyOf<'/api/v1/fleets/preview', 'post'>;
export type FleetDevices = ResponseOf<'/api/v1/fleets/preview', 'post'>;
export type FleetMember = FleetDevices['items'][number];

export const listFleets = (client: TetherClient) => client.request<ResponseOf<'/api/v1/fleets', 'get'>>('GET', '/api/v1/fleets');
export const getFleet = (client: TetherClient, id: string) => client.request<Fleet>('GET', `/api/v1/fleets/${id}`);
export const createFleet = (client: TetherClient, input: FleetInput) => client.request<Fleet>('POST', '/api/v1/fleets', input);
export const updateFleet = (client: TetherClient, id: string, patch: FleetPatch) => client.request<Fleet>('PATCH', `/api/v1/fleets/${id}`, patch);
export const deleteFleet = (client: TetherClient, id: string) => client.request<void>('DELETE', `/api/v1/fleets/${id}`);
export const fleetDevices = (client: TetherClient, id: string, limit: number) =>
  client.request<FleetDevices>('GET', `/api/v1/fleets/${id}/devices`, undefined, { limit });
export const changeFleetMembers = (client: TetherClient, id: string, change: { add?: string[]; remove?: string[] }) =>
  client.request<FleetDevices>('POST', `/api/v1/fleets/${id}/devices`, change);
export const previewFleet = (client: TetherClient, selector: FleetSelector, limit: number) =>
  client.request<FleetDevices>('POST', '/api/v1/fleets/preview', selector, { limit });

/** The selector as the editor holds it: every field a string, empty when not used. */
export interface SelectorForm {
  projectId: string;
  templateId: string;
  tags: string;
  firmware: string;
}

export const emptySelectorForm = (): SelectorForm => ({ projectId: '', templateId: '', tags: '', firmware: '' });

export const selectorToForm = (s: FleetSelector | null): SelectorForm => ({
  projectId: s?.projectId ?? '',
  templateId: s?.templateId ?? '',
  tags: s?.tags?.join(', ') ?? '',
  firmware: s?.firmware ?? '',
});

/** Only the criteria given; null when there are none (the server needs at least one). */
export function formToSelector(f: SelectorForm): FleetSelector | null {
  const s: FleetSelector = {};
  if (f.projectId) s.projectId = f.projectId;
  if (f.templateId) s.templateId = f.templateId;
  const tags = parseTags(f.tags);
  if (tags.length) s.tags = tags;
  if (f.firmware.trim()) s.firmware = f.firmware.trim();
  return Object.keys(s).length ? s : null;
}

/** "template Boiler · tags a, b · firmware <2.0.0", with names looked up. */
export function selectorSummary(s: FleetSelector | null, names: { projects: Map<string, string>; templates: Map<string, string> }): string {
  if (!s) return '';
  const parts: string[] = [];
  if (s.projectId) parts.push(`project ${names.projects.get(s.projectId) ?? '…'}`);
  if (s.templateId) parts.push(`template ${names.templates.get(s.templateId) ?? '…'}`);
  if (s.tags?.length) parts.push(`${s.tags.length === 1 ? 'tag' : 'tags'} ${s.tags.join(', ')}`);
  if (s.firmware) parts.push(`firmware ${s.firmware}`);
  return parts.join(' · ');
}
