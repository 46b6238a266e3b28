/** Creates the simulated devices through the REST API, in a project of their own. */
import { TetherClient, type Project } from '@tether/api-client';
import { kindAt, type FleetDevice } from './fleet-file.js';
import { SIMULATED_KINDS, type ApiCredentials, type KindChoice, type SimulatedKind } from './options.js';

const PAGE = 500;
/** Enough parallel requests to create a thousand devices in seconds without crowding the API. */
const CREATE_CONCURRENCY = 8;

export async function signIn(url: string, credentials: ApiCredentials): Promise<TetherClient> {
  if ('apiKey' in credentials) return new TetherClient({ baseUrl: url, token: credentials.apiKey });
  const api = new TetherClient({ baseUrl: url });
  await api.login(credentials.email, credentials.password);
  return api;
}

export async function findOrCreateProject(api: TetherClient, name: string): Promise<{ project: Project; created: boolean }> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await api.projects.list({ limit: PAGE, offset });
    const found = page.items.find((p) => p.name.toLowerCase() === name.toLowerCase());
    if (found) return { project: found, created: false };
    if (page.items.length < PAGE || offset + PAGE >= page.total) break;
  }
  return { project: await api.projects.create({ name, description: 'Virtual devices created by `tether simulate`.' }), created: true };
}

/** The device template of that name (names compare without case), created if missing. */
export async function findOrCreateTemplate(api: TetherClient, name: string): Promise<{ id: string; name: string; created: boolean }> {
  const list = await api.request<{ items: { id: string; name: string }[] }>('GET', '/api/v1/templates');
  const found = list.items.find((t) => t.name.toLowerCase() === name.toLowerCase());
  if (found) return { ...found, created: false };
  const made = await api.request<{ id: string; name: string }>('POST', '/api/v1/templates', { name, description: 'Created by `tether simulate`.' });
  return { ...made, created: true };
}

export interface ProvisionRequest {
  count: number;
  kind: KindChoice;
  projectId: string;
  templateId?: string | null;
  onProgress?(created: number, total: number): void;
}

/** Creates `count` devices named sim-<kind>-0001…, numbered after the ones earlier runs left in the project. */
export async function createSimulatedDevices(api: TetherClient, req: ProvisionRequest): Promise<FleetDevice[]> {
  const next = await nextDeviceNumbers(api, req.projectId);
  const plan = Array.from({ length: req.count }, (_, i) => {
    const kind = kindAt(req.kind, i);
    const n = next.get(kind)!;
    next.set(kind, n + 1);
    return { kind, name: `sim-${kind}-${String(n).padStart(4, '0')}` };
  });

  const fleet: FleetDevice[] = new Array(plan.length);
  let cursor = 0;
  let created = 0;
  const worker = async () => {
    while (cursor < plan.length) {
      const i = cursor++;
      const { kind, name } = plan[i]!;
      const device = await api.devices.create({
        name,
        projectId: req.projectId,
        type: kind,
        tags: ['simulated', kind],
        ...(req.templateId ? { templateId: req.templateId } : {}),
      });
      fleet[i] = { id: device.id, token: device.token, kind, name };
      req.onProgress?.(++created, plan.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, plan.length) }, worker));
  return fleet;
}

/** Device names are not unique in Tether, so numbering continues after the highest existing one per kind. */
async function nextDeviceNumbers(api: TetherClient, projectId: string): Promise<Map<SimulatedKind, number>> {
  const next = new Map<SimulatedKind, number>(SIMULATED_KINDS.map((k) => [k, 1]));
  const pattern = /^sim-([a-z]+)-(\d+)$/;
  for (let offset = 0; ; offset += PAGE) {
    const page = await api.devices.list({ projectId, tag: 'simulated', limit: PAGE, offset });
    for (const d of page.items) {
      const m = pattern.exec(d.name);
      const kind = m?.[1] as SimulatedKind | undefined;
      if (m && kind && next.has(kind)) next.set(kind, Math.max(next.get(kind)!, Number(m[2]) + 1));
    }
    if (page.items.length < PAGE || offset + PAGE >= page.total) break;
  }
  return next;
}
