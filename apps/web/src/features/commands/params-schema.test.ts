import { describe, expect, it } from 'vitest';
import { describeField, fieldsFromSchema, initialValues, paramsFromJson, paramsFromValues, type ParamField } from './params-schema';

const servo = {
  type: 'object',
  required: ['angle'],
  properties: {
    angle: { type: 'integer', minimum: 0, maximum: 180, title: 'Angle', description: 'Degrees from the rest position' },
    speed: { type: 'number', exclusiveMinimum: 0, default: 1.5 },
    label: { type: 'string', maxLength: 8, pattern: '^[a-z]+$' },
    smooth: { type: 'boolean', default: true },
    mode: { enum: ['fast', 'slow', 3] },
    curve: { type: 'array', items: { type: 'number' } },
  },
};

describe('fieldsFromSchema', () => {
  it('makes one field per top-level property, with its constraints', () => {
    const fields = fieldsFromSchema(servo)!;
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['angle', 'number', true],
      ['speed', 'number', false],
      ['label', 'string', false],
      ['smooth', 'boolean', false],
      ['mode', 'enum', false],
      ['curve', 'json', false],
    ]);
    expect(fields[0]).toMatchObject({ label: 'Angle', description: 'Degrees from the rest position', integer: true, min: 0, max: 180 });
    expect(fields[1]).toMatchObject({ label: 'speed', integer: false, exclusiveMin: 0, default: 1.5 });
    expect(fields[4]).toMatchObject({ options: ['fast', 'slow', 3] });
  });

  it('reads nullable types, const and integer enums', () => {
    const fields = fieldsFromSchema({ properties: { level: { type: ['integer', 'null'] }, on: { const: true }, duty: { type: 'integer', enum: [25, 50] } } })!;
    expect(fields.map((f) => f.kind)).toEqual(['number', 'enum', 'enum']);
    expect(fields[1]).toMatchObject({ options: [true] });
  });

  it('gives up on schemas that are not objects with properties', () => {
    expect(fieldsFromSchema(undefined)).toBeNull();
    expect(fieldsFromSchema({ type: 'object' })).toBeNull();
    expect(fieldsFromSchema({ type: 'array', properties: {} })).toBeNull();
    expect(fieldsFromSchema({ type: 'object', properties: {} })).toEqual([]);
  });
});

describe('initialValues', () => {
  it('starts from the defaults, and picks the only option of a required enum', () => {
    const fields = fieldsFromSchema({
      required: ['unit'],
      properties: {
        ...servo.properties,
        unit: { enum: ['deg'] },
        mode: { enum: ['fast', 'slow'], default: 'slow' },
        curve: { type: 'array', default: [1, 2] },
      },
    })!;
    expect(initialValues(fields)).toEqual({ angle: '', speed: '1.5', label: '', smooth: true, mode: '1', curve: '[1,2]', unit: '0' });
  });
});

describe('paramsFromValues', () => {
  const fields = fieldsFromSchema(servo)!;

  it('converts the inputs to typed params and leaves out empty optional fields', () => {
    expect(paramsFromValues(fields, { angle: '90', speed: '', label: '', smooth: false, mode: '2', curve: '[0, 0.5, 1]' })).toEqual({
      ok: true,
      params: { angle: 90, smooth: false, mode: 3, curve: [0, 0.5, 1] },
    });
    expect(paramsFromValues(fields, { ...initialValues(fields), angle: '0', label: 'abc' })).toEqual({
      ok: true,
      params: { angle: 0, speed: 1.5, label: 'abc', smooth: true },
    });
  });

  it('explains each field that would be refused', () => {
    const r = paramsFromValues(fields, { angle: '', speed: '0', label: 'ABCDEFGHIJ', smooth: true, mode: '', curve: '[1,' });
    expect(r.ok).toBe(false);
    const errors = !r.ok ? r.errors : {};
    expect(errors.angle).toBe('Required.');
    expect(errors.speed).toBe('More than 0.');
    expect(errors.label).toBe('At most 8 characters.');
    expect(errors.curve).toMatch(/^Not valid JSON/);
    expect(errors.mode).toBeUndefined();
  });

  it.each([
    ['90.5', 'Enter a whole number.'],
    ['-1', 'At least 0.'],
    ['181', 'At most 180.'],
    ['1e400', 'Enter a number.'],
    ['abc', 'Enter a number.'],
  ])('refuses the angle %s: %s', (angle, error) => {
    expect(paramsFromValues(fields, { ...initialValues(fields), angle })).toEqual({ ok: false, errors: { angle: error } });
  });

  it('checks multipleOf without floating-point noise, and patterns', () => {
    const [step] = fieldsFromSchema({ properties: { v: { type: 'number', multipleOf: 0.1 } } })!;
    expect(paramsFromValues([step!], { v: '0.3' })).toEqual({ ok: true, params: { v: 0.3 } });
    expect(paramsFromValues([step!], { v: '0.35' })).toEqual({ ok: false, errors: { v: 'A multiple of 0.1.' } });
    expect(paramsFromValues(fields, { ...initialValues(fields), angle: '1', label: 'ab1' })).toMatchObject({
      ok: false,
      errors: { label: 'Must match ^[a-z]+$.' },
    });
  });

  it('requires a required string to be filled in, and a required enum to be chosen', () => {
    const req = fieldsFromSchema({ required: ['name', 'mode'], properties: { name: { type: 'string' }, mode: { enum: ['a', 'b'] } } })!;
    expect(paramsFromValues(req, initialValues(req))).toEqual({ ok: false, errors: { name: 'Required.', mode: 'Choose one.' } });
  });
});

describe('paramsFromJson', () => {
  it('accepts an object or nothing, and refuses anything else', () => {
    expect(paramsFromJson('')).toEqual({ ok: true, params: {} });
    expect(paramsFromJson('{"duration": 500}')).toEqual({ ok: true, params: { duration: 500 } });
    expect(paramsFromJson('[1]')).toMatchObject({ ok: false, error: expect.stringMatching(/JSON object/) });
    expect(paramsFromJson('{duration: 5}')).toMatchObject({ ok: false, error: expect.stringMatching(/^Not valid JSON/) });
  });
});

describe('describeField', () => {
  it('summarises the constraints for the hint', () => {
    const [angle, speed, label, , , curve] = fieldsFromSchema(servo)! as ParamField[];
    expect(describeField(angle!)).toBe('0 – 180, whole number');
    expect(describeField(speed!)).toBe('> 0');
    expect(describeField(label!)).toBe('0 – 8 characters, pattern ^[a-z]+$');
    expect(describeField(curve!)).toBe('JSON');
  });
});
