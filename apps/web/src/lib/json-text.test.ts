import { describe, expect, it } from 'vitest';
import { formatJsonText, parseJsonText } from './json-text';

describe('parseJsonText', () => {
  it.each([
    ['42', 42],
    [' true ', true],
    ['"eco"', 'eco'],
    ['{"a": [1, 2]}', { a: [1, 2] }],
    ['null', null],
  ])('%s parses', (text, value) => {
    expect(parseJsonText(text)).toEqual({ ok: true, value });
  });

  it('says a bare word needs quotes', () => {
    const r = parseJsonText('Europe/Amsterdam');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^Not valid JSON: .*Text needs double quotes: "Europe\/Amsterdam"\.$/);
  });

  it('refuses broken JSON and empty input without the quoting hint', () => {
    const broken = parseJsonText('{"a": 1');
    expect(!broken.ok && broken.error).toMatch(/^Not valid JSON/);
    expect(!broken.ok && broken.error).not.toMatch(/quotes/);
    expect(parseJsonText('  ')).toMatchObject({ ok: false });
  });
});

describe('formatJsonText', () => {
  it('keeps short values on one line and indents long ones', () => {
    expect(formatJsonText({ a: 1 })).toBe('{"a":1}');
    expect(formatJsonText('eco')).toBe('"eco"');
    expect(formatJsonText({ description: 'a value long enough to need more than one line here' })).toContain('\n  "description"');
  });
});
