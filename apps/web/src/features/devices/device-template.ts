/** Device templates: a device type's telemetry keys and the commands it accepts. */
import { useMemo } from 'react';
import type { CommandSpec, DeviceTemplate, TetherClient } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';

export type { CommandSpec, DeviceTemplate };

export const getTemplate = (client: TetherClient, id: string) => client.templates.get(id);
export const listTemplates = (client: TetherClient) => client.templates.list();

/** The device's template; null data when it has none. */
export function useDeviceTemplate(templateId: string | null) {
  const { client } = useSession();
  return useAsync(async () => (templateId ? getTemplate(client, templateId) : null), [client, templateId]);
}

/** Every template of the org (for pickers) and a name lookup. */
export function useTemplates() {
  const { client } = useSession();
  const state = useAsync(async () => (await listTemplates(client)).items, [client]);
  const templates = useMemo(() => state.data ?? [], [state.data]);
  const names = useMemo(() => new Map(templates.map((t) => [t.id, t.name])), [templates]);
  return { templates, names, state };
}
