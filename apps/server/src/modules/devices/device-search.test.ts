import { describe, expect, it } from 'vitest';
import { idPrefixRange, metadataMatch } from './device-search.js';

describe('idPrefixRange', () => {
  const id = '3f2a1b2c-1d4e-4f60-8a7b-9c0d1e2f3a4b';

  it('reads a whole id in any case as itself', () => {
    expect(idPrefixRange(id.toUpperCase())).toEqual({ from: id, to: id, whole: true });
    expect(idPrefixRange(id.replaceAll('-', ''))).toEqual({ from: id, to: id, whole: true });
  });

  it('reads the start of an id, written with or without its dashes, as the range of ids starting with it', () => {
    const range = { from: '3f2a1b2c-1000-0000-0000-000000000000', to: '3f2a1b2c-1fff-ffff-ffff-ffffffffffff', whole: false };
    expect(idPrefixRange('3f2a1b2c-1')).toEqual(range);
    expect(idPrefixRange('3F2A1B2C1')).toEqual(range);
    expect(idPrefixRange(' 3f2a ')).toEqual({ from: '3f2a0000-0000-0000-0000-000000000000', to: '3f2affff-ffff-ffff-ffff-ffffffffffff', whole: false });
    expect(idPrefixRange('3f2a1b2c-')).toEqual({ from: '3f2a1b2c-0000-0000-0000-000000000000', to: '3f2a1b2c-ffff-ffff-ffff-ffffffffffff', whole: false });
  });

  it('is null for what cannot start an id: under 4 digits, not hex, dashes out of place, too long', () => {
    for (const text of ['3f2', 'pump', 'beef-', '3f2a-1b2c', '3f2a1b2c1d4e4f608a7b9c0d1e2f3a4b0', `${id}0`, '']) expect(idPrefixRange(text), text).toBeNull();
  });
});

describe('metadataMatch', () => {
  const doc = { location: { site: 'Rotterdam Harbour', floor: 3 }, model: 'PX-200', ports: ['north-gate', { name: 'South' }], spare: null, ok: true };

  it('names the first key or scalar value containing the text, with its path', () => {
    expect(metadataMatch(doc, 'harbour')).toBe('location.site: Rotterdam Harbour');
    expect(metadataMatch(doc, 'floor')).toBe('location.floor: 3');
    expect(metadataMatch(doc, 'locat')).toBe('location');
    expect(metadataMatch(doc, 'gate')).toBe('ports[0]: north-gate');
    expect(metadataMatch(doc, 'south')).toBe('ports[1].name: South');
    expect(metadataMatch(doc, 'true')).toBe('ok: true');
    expect(metadataMatch(doc, 'spare')).toBe('spare: null');
  });

  it('is null when nothing contains it, and cuts a long value', () => {
    expect(metadataMatch(doc, 'berlin')).toBeNull();
    expect(metadataMatch({}, 'x')).toBeNull();
    const long = metadataMatch({ notes: `needle ${'x'.repeat(500)}` }, 'needle')!;
    expect(long.length).toBeLessThan(220);
    expect(long.endsWith('…')).toBe(true);
  });
});
