import { AppError } from '../errors.js';
import type { Actor } from '../accounts/actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { MetadataService } from '../metadata/metadata.service.js';
import type { ProjectsService } from '../projects/projects.service.js';
import { SEARCH_LIMIT, type PropertyHit, type SearchQuery, type SearchResults } from './search.schemas.js';

export interface SearchServiceDeps {
  devices: Pick<DevicesService, 'search' | 'select'>;
  projects: Pick<ProjectsService, 'search' | 'names'>;
  metadata: Pick<MetadataService, 'searchText'>;
}

/**
 * The one search box (issue 17): an org's devices, projects and properties
 * for a text, in groups. Each module searches its own tables; this only
 * composes their answers, and names the device or project of each property.
 */
export class SearchService {
  constructor(private readonly deps: SearchServiceDeps) {}

  async search(actor: Actor, query: SearchQuery): Promise<SearchResults> {
    const text = query.q.trim();
    if (!text) throw new AppError('VALIDATION_FAILED', 'q must contain more than spaces');
    const limit = Math.min(Math.max(query.limit ?? SEARCH_LIMIT.default, 1), SEARCH_LIMIT.max);
    const [devices, projects, found] = await Promise.all([
      this.deps.devices.search(actor, text, limit),
      this.deps.projects.search(actor, text, limit),
      this.deps.metadata.searchText(actor, text, limit),
    ]);
    const deviceIds = [...new Set(found.filter((p) => p.entityKind === 'device').map((p) => p.entityId))];
    const projectIds = [...new Set(found.filter((p) => p.entityKind === 'project').map((p) => p.entityId))];
    const [deviceNames, projectNames] = await Promise.all([
      deviceIds.length
        ? this.deps.devices.select(actor.orgId, { ids: deviceIds }, deviceIds.length).then((ds) => new Map(ds.map((d) => [d.id, d.name])))
        : new Map<string, string>(),
      this.deps.projects.names(actor, projectIds),
    ]);
    // A property outlives its device (properties name their entity without a foreign key): such are left out.
    const properties = found.flatMap((p): PropertyHit[] => {
      const entityName = (p.entityKind === 'device' ? deviceNames : projectNames).get(p.entityId);
      return entityName === undefined ? [] : [{ ...p, entityName }];
    });
    return { devices, projects, properties };
  }
}
