import { describe, expect, it } from 'vitest';
import { parseMetadata, parseTags } from './device-fields';

describe('device fields', () => {
  it('splits tags on commas, trimmed and without duplicates', () => {
    expect(parseTags(' basement, floor-2,,basement ')).toEqual(['basement', 'floor-2']);
    expect(parseTags('')).toEqual([]);
  });

  it('accepts a JSON object as metadata and refuses anything else', () => {
    expect(parseMetadata('')).toEqual({ ok: true, value: {} });
    expect(parseMetadata('{"room":"basement"}')).toEqual({ ok: true, value: { room: 'basement' } });
    expect(parseMetadata('[1]')).toMatchObject({ ok: false });
    expect(parseMetadata('{room')).toMatchObject({ ok: false });
  });
});
