import { Type, type Static } from 'typebox';
import { SearchText, titled } from '../../platform/http/schemas.js';
import { DeviceMatch } from '../devices/devices.schemas.js';
import { PropertyFound } from '../metadata/metadata.schemas.js';
import { ProjectMatch } from '../projects/projects.schemas.js';

export const SEARCH_LIMIT = { default: 10, max: 50 };

export const SearchQuery = Type.Object({
  q: SearchText({
    minLength: 1,
    description:
      'What to find, in any case: a device by name, serial, id (or its first 4+ digits), tag, metadata key or value, or property; ' +
      'a project by name or description; a property by name or value',
  }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SEARCH_LIMIT.max, default: SEARCH_LIMIT.default, description: 'At most this many of each group' })),
});
export type SearchQuery = Static<typeof SearchQuery>;

export const PropertyHit = Type.Object({
  ...PropertyFound.properties,
  entityName: Type.String({ description: 'The name of the device or project the property is on' }),
});
export type PropertyHit = Static<typeof PropertyHit>;

export const SearchResults = Type.Object({
  devices: Type.Array(DeviceMatch, { description: 'Best first: equal to the text, then starting with it, then the most similar' }),
  projects: Type.Array(ProjectMatch, { description: 'Best first, as devices' }),
  properties: Type.Array(PropertyHit, { description: 'Best first, as devices; properties of devices and of projects' }),
});
export type SearchResults = Static<typeof SearchResults>;

titled({ PropertyHit, SearchResults });
