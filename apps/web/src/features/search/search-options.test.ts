import { describe, expect, it } from 'vitest';
import type { SearchResults } from '@tether/api-client';
import { highlight, searchOptions } from './search-options';

const results: SearchResults = {
  devices: [
    { id: 'd1', name: 'Pump 1', serial: null, projectId: null, online: true, matched: { field: 'name', text: 'Pump 1' } },
    { id: 'd2', name: 'Boiler', serial: 'SN-PUMP', projectId: null, online: false, matched: { field: 'serial', text: 'SN-PUMP' } },
    { id: 'd3', name: 'Gate', serial: null, projectId: null, online: false, matched: { field: 'metadata', text: 'site: Pump house' } },
  ],
  projects: [{ id: 'p1', name: 'Plant', matched: { field: 'description', text: 'The pump room' } }],
  properties: [{ entityKind: 'device', entityId: 'd4', entityName: 'Meter', name: 'asset', value: 'PUMP-7', matched: { field: 'value', text: 'PUMP-7' } }],
};

describe('searchOptions', () => {
  it('lists devices, projects and properties in that order, each linking to its page, then every device matching', () => {
    expect(searchOptions('pump & co', results).map((o) => [o.group, o.href, o.label, o.detail])).toEqual([
      ['devices', '/devices/d1', 'Pump 1', null],
      ['devices', '/devices/d2', 'Boiler', 'serial SN-PUMP'],
      ['devices', '/devices/d3', 'Gate', 'site: Pump house'],
      ['projects', '/projects/p1', 'Plant', 'The pump room'],
      ['properties', '/devices/d4', 'asset: PUMP-7', 'device Meter'],
      [null, '/devices?q=pump%20%26%20co', 'See all devices matching “pump & co”', null],
    ]);
  });
});

describe('highlight', () => {
  it('cuts a label around the text, in any case, or answers null', () => {
    expect(highlight('Big Pump 1', 'pump')).toEqual(['Big ', 'Pump', ' 1']);
    expect(highlight('Valve', 'pump')).toBeNull();
    expect(highlight('Valve', '')).toBeNull();
  });
});
