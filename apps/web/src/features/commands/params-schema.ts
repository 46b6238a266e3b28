/**
 * A command's params form, generated from the JSON Schema in its template:
 * one field per top-level property (number, integer, string, boolean, enum;
 * nested objects and arrays as JSON). A schema this cannot express as fields
 * is edited as one JSON object instead. The server validates again; this only
 * catches mistakes before the round trip.
 */
import { parseJsonText } from '../../lib/json-text';

type Primitive = string | number | boolean | null;

interface FieldBase {
  name: string;
  label: string;
  description?: string;
  required: boolean;
}
export type ParamField =
  | (FieldBase & {
      kind: 'number';
      integer: boolean;
      min?: number;
      max?: number;
      exclusiveMin?: number;
      exclusiveMax?: number;
      step?: number;
      default?: number;
    })
  | (FieldBase & { kind: 'string'; minLength?: number; maxLength?: number; pattern?: string; default?: string })
  | (FieldBase & { kind: 'boolean'; default?: boolean })
  | (FieldBase & { kind: 'enum'; options: Primitive[]; default?: Primitive })
  | (FieldBase & { kind: 'json'; default?: unknown });

/** What the inputs hold: text for most fields, a flag for a checkbox, the option's index for an enum. */
export type ParamValues = Record<string, string | boolean>;
export type ParamErrors = Record<string, string>;

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isPrimitive = (v: unknown): v is Primitive => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** `type: "integer"`, or `type: ["integer", "null"]`: the one non-null type, if there is one. */
function typeOf(p: Schema): string | undefined {
  if (typeof p.type === 'string') return p.type;
  if (Array.isArray(p.type)) {
    const types = p.type.filter((t) => t !== 'null');
    return types.length === 1 && typeof types[0] === 'string' ? types[0] : undefined;
  }
  return undefined;
}

function fieldFor(name: string, p: Schema, required: boolean): ParamField {
  const base: FieldBase = { name, label: str(p.title) ?? name, required, ...(str(p.description) ? { description: str(p.description) } : {}) };
  const options = Array.isArray(p.enum) ? p.enum : 'const' in p ? [p.const] : null;
  if (options && options.length && options.every(isPrimitive)) {
    return { ...base, kind: 'enum', options, ...(isPrimitive(p.default) && options.includes(p.default) ? { default: p.default } : {}) };
  }
  const type = typeOf(p);
  if (type === 'number' || type === 'integer') {
    const f: ParamField = { ...base, kind: 'number', integer: type === 'integer' };
    if (num(p.minimum) !== undefined) f.min = num(p.minimum);
    if (num(p.maximum) !== undefined) f.max = num(p.maximum);
    if (num(p.exclusiveMinimum) !== undefined) f.exclusiveMin = num(p.exclusiveMinimum);
    if (num(p.exclusiveMaximum) !== undefined) f.exclusiveMax = num(p.exclusiveMaximum);
    if (num(p.multipleOf) !== undefined) f.step = num(p.multipleOf);
    if (num(p.default) !== undefined) f.default = num(p.default);
    return f;
  }
  if (type === 'string') {
    const f: ParamField = { ...base, kind: 'string' };
    if (num(p.minLength) !== undefined) f.minLength = num(p.minLength);
    if (num(p.maxLength) !== undefined) f.maxLength = num(p.maxLength);
    if (str(p.pattern) !== undefined) f.pattern = str(p.pattern);
    if (str(p.default) !== undefined) f.default = str(p.default);
    return f;
  }
  if (type === 'boolean') return { ...base, kind: 'boolean', ...(typeof p.default === 'boolean' ? { default: p.default } : {}) };
  return { ...base, kind: 'json', ...('default' in p ? { default: p.default } : {}) };
}

/**
 * The fields for a params schema, or null when it is not an object schema with
 * properties (then the params are edited as one JSON object).
 */
export function fieldsFromSchema(schema: unknown): ParamField[] | null {
  if (!isObject(schema) || !isObject(schema.properties)) return null;
  if (schema.type !== undefined && typeOf(schema) !== 'object') return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  const fields: ParamField[] = [];
  for (const [name, p] of Object.entries(schema.properties)) fields.push(fieldFor(name, isObject(p) ? p : {}, required.has(name)));
  return fields;
}

export function initialValues(fields: ParamField[]): ParamValues {
  const values: ParamValues = {};
  for (const f of fields) {
    if (f.kind === 'boolean') values[f.name] = f.default ?? false;
    else if (f.kind === 'enum') {
      const i = f.default !== undefined ? f.options.indexOf(f.default) : f.required && f.options.length === 1 ? 0 : -1;
      values[f.name] = i < 0 ? '' : String(i);
    } else if (f.kind === 'json') values[f.name] = f.default === undefined ? '' : JSON.stringify(f.default);
    else values[f.name] = f.default === undefined ? '' : String(f.default);
  }
  return values;
}

function numberError(f: Extract<ParamField, { kind: 'number' }>, n: number): string | null {
  if (f.integer && !Number.isInteger(n)) return 'Enter a whole number.';
  if (f.min !== undefined && n < f.min) return `At least ${f.min}.`;
  if (f.max !== undefined && n > f.max) return `At most ${f.max}.`;
  if (f.exclusiveMin !== undefined && n <= f.exclusiveMin) return `More than ${f.exclusiveMin}.`;
  if (f.exclusiveMax !== undefined && n >= f.exclusiveMax) return `Less than ${f.exclusiveMax}.`;
  if (f.step !== undefined && f.step > 0) {
    const q = n / f.step;
    if (Math.abs(q - Math.round(q)) > 1e-9) return `A multiple of ${f.step}.`;
  }
  return null;
}

function stringError(f: Extract<ParamField, { kind: 'string' }>, s: string): string | null {
  const length = [...s].length;
  if (f.minLength !== undefined && length < f.minLength) return `At least ${f.minLength} characters.`;
  if (f.maxLength !== undefined && length > f.maxLength) return `At most ${f.maxLength} characters.`;
  if (f.pattern !== undefined) {
    let re: RegExp | null = null;
    try {
      re = new RegExp(f.pattern, 'u');
    } catch {
      // A pattern the browser cannot compile is left to the server.
    }
    if (re && !re.test(s)) return `Must match ${f.pattern}.`;
  }
  return null;
}

/**
 * The params object the inputs describe. An empty optional field is left out;
 * a checkbox always sends true or false.
 */
export function paramsFromValues(
  fields: ParamField[],
  values: ParamValues,
): { ok: true; params: Record<string, unknown> } | { ok: false; errors: ParamErrors } {
  const params: Record<string, unknown> = {};
  const errors: ParamErrors = {};
  for (const f of fields) {
    const raw = values[f.name];
    if (f.kind === 'boolean') {
      params[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (f.kind !== 'string' && text.trim() === '') {
      if (f.required) errors[f.name] = f.kind === 'enum' ? 'Choose one.' : 'Required.';
      continue;
    }
    if (f.kind === 'string' && text === '' && !f.required) continue;
    switch (f.kind) {
      case 'number': {
        const n = Number(text.trim());
        const error = Number.isFinite(n) ? numberError(f, n) : 'Enter a number.';
        if (error) errors[f.name] = error;
        else params[f.name] = n;
        break;
      }
      case 'string': {
        const error = text === '' ? 'Required.' : stringError(f, text);
        if (error) errors[f.name] = error;
        else params[f.name] = text;
        break;
      }
      case 'enum': {
        const option = f.options[Number(text)];
        if (option === undefined) errors[f.name] = 'Choose one.';
        else params[f.name] = option;
        break;
      }
      case 'json': {
        const parsed = parseJsonText(text);
        if (parsed.ok) params[f.name] = parsed.value;
        else errors[f.name] = parsed.error;
        break;
      }
    }
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, params };
}

/** The params typed as one JSON object, when there is no form. Empty means {}. */
export function paramsFromJson(text: string): { ok: true; params: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, params: {} };
  const parsed = parseJsonText(text);
  if (!parsed.ok) return parsed;
  if (!isObject(parsed.value)) return { ok: false, error: 'Parameters must be a JSON object, e.g. {"duration": 500}.' };
  return { ok: true, params: parsed.value };
}

/** "0 – 180", "≥ 1", "whole number": the constraints, for the field's hint. */
export function describeField(f: ParamField): string {
  const parts: string[] = [];
  if (f.kind === 'number') {
    const lo = f.min ?? f.exclusiveMin;
    const hi = f.max ?? f.exclusiveMax;
    if (lo !== undefined && hi !== undefined) parts.push(`${lo} – ${hi}`);
    else if (lo !== undefined) parts.push(`${f.min !== undefined ? '≥' : '>'} ${lo}`);
    else if (hi !== undefined) parts.push(`${f.max !== undefined ? '≤' : '<'} ${hi}`);
    if (f.integer) parts.push('whole number');
    if (f.step !== undefined) parts.push(`multiple of ${f.step}`);
  } else if (f.kind === 'string') {
    if (f.minLength !== undefined || f.maxLength !== undefined) parts.push(`${f.minLength ?? 0} – ${f.maxLength ?? '∞'} characters`);
    if (f.pattern !== undefined) parts.push(`pattern ${f.pattern}`);
  } else if (f.kind === 'json') parts.push('JSON');
  return parts.join(', ');
}
