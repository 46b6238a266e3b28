/** Device templates (not yet in @tether/api-client): a device type's telemetry keys and the commands it accepts. */
import type { TetherClient } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import type { TelemetryKeySpec } from '../../lib/units';

export interface CommandSpec {
  name: string;
  description?: string;
  /** JSON Schema of the params. */
  params?: Record<string, unknown>;
}

export interface DeviceTemplate {
  id: string;
  name: string;
  description: string;
  telemetry: TelemetryKeySpec[];
  commands: CommandSpec[];
  createdAt: string;
  updatedAt: string;
}

export const getTemplate = (client: TetherClient, id: string) => client.request<DeviceTemplate>('GET', `/api/v1/templates/${id}`);
export const listTemplates = (client: TetherClient) => client.request<{ items: DeviceTemplate[] }>('GET', '/api/v1/templates');

/** The device's template; null data when it has none. */
export function useDeviceTemplate(templateId: string | null) {
  const { client } = useSession();
  return useAsync(async () => (templateId ? getTemplate(client, templateId) : null), [client, templateId]);
}
