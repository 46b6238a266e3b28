import { useId } from 'react';
import { describeField, type ParamErrors, type ParamField, type ParamValues } from './params-schema';

function hintOf(f: ParamField): string {
  const constraints = describeField(f);
  return [f.description, constraints && (f.description ? `(${constraints})` : constraints)].filter(Boolean).join(' ');
}

const optionLabel = (o: string | number | boolean | null) => (typeof o === 'string' ? o : JSON.stringify(o));

/** One input per field of a command's params schema; errors sit under their field. */
export function ParamsForm({
  fields,
  values,
  errors,
  onChange,
}: {
  fields: ParamField[];
  values: ParamValues;
  errors: ParamErrors;
  onChange(name: string, value: string | boolean): void;
}) {
  const prefix = useId();
  return (
    <div className="params-grid">
      {fields.map((f) => {
        const id = `${prefix}-${f.name}`;
        const hint = hintOf(f);
        const error = errors[f.name];
        const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
        const label = (
          <>
            {f.label}
            {f.required && (
              <>
                <span aria-hidden="true"> *</span>
                <span className="visually-hidden"> (required)</span>
              </>
            )}
          </>
        );
        const common = { id, name: f.name, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy } as const;
        let control;
        if (f.kind === 'boolean') {
          return (
            <div key={f.name} className="field field-check" data-param={f.name}>
              <label className="check" htmlFor={id}>
                <input type="checkbox" {...common} checked={values[f.name] === true} onChange={(e) => onChange(f.name, e.target.checked)} />
                {label}
              </label>
              {hint && (
                <small id={`${id}-hint`} className="muted">
                  {hint}
                </small>
              )}
            </div>
          );
        }
        const text = typeof values[f.name] === 'string' ? (values[f.name] as string) : '';
        if (f.kind === 'number') {
          control = (
            <input
              type="number"
              inputMode={f.integer ? 'numeric' : 'decimal'}
              step={f.step ?? (f.integer ? 1 : 'any')}
              min={f.min}
              max={f.max}
              {...common}
              value={text}
              onChange={(e) => onChange(f.name, e.target.value)}
            />
          );
        } else if (f.kind === 'enum') {
          control = (
            <select {...common} value={text} onChange={(e) => onChange(f.name, e.target.value)}>
              <option value="">{f.required ? 'Choose…' : '(leave out)'}</option>
              {f.options.map((o, i) => (
                <option key={i} value={String(i)}>
                  {optionLabel(o)}
                </option>
              ))}
            </select>
          );
        } else if (f.kind === 'json') {
          control = (
            <textarea
              rows={2}
              spellCheck={false}
              {...common}
              value={text}
              onChange={(e) => onChange(f.name, e.target.value)}
              placeholder='[1, 2] or {"a": 1}'
            />
          );
        } else {
          control = <input type="text" maxLength={f.maxLength} {...common} value={text} onChange={(e) => onChange(f.name, e.target.value)} />;
        }
        return (
          <div key={f.name} className={f.kind === 'json' ? 'field field-wide' : 'field'} data-param={f.name}>
            <label htmlFor={id}>{label}</label>
            {control}
            {hint && (
              <small id={`${id}-hint`} className="muted">
                {hint}
              </small>
            )}
            {error && (
              <p id={`${id}-error`} className="field-error">
                {error}
              </p>
            )}
          </div>
        );
      })}
    </div>
  );
}
