import { useId, useRef, useState, type FormEvent } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTimeZone } from '../../lib/time';
import { Link } from '../../lib/router';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { deleteProperty, listProperties, setProperty, PROPERTY_VALUE_MAX, type EntityRef, type Property } from './metadata';

/** Name/value text on a device or project, searchable across the org from the devices page. */
export function PropertiesPanel({ entity }: { entity: EntityRef }) {
  const { client, can } = useSession();
  const id = useId();
  const state = useAsync(() => listProperties(client, entity), [client, entity.kind, entity.id]);
  const [form, setForm] = useState({ name: '', value: '' });
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' } | { kind: 'done' | 'error'; message: string }>({ kind: 'idle' });
  const valueRef = useRef<HTMLInputElement>(null);

  const edit = (p: Property) => {
    setForm({ name: p.name, value: p.value });
    setStatus({ kind: 'idle' });
    valueRef.current?.focus();
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const name = form.name.trim();
    if (!name) return;
    setStatus({ kind: 'saving' });
    try {
      await setProperty(client, entity, name, form.value);
      setStatus({ kind: 'done', message: `Saved ${name}.` });
      setForm({ name: '', value: '' });
      state.reload();
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };
  const remove = async (p: Property) => {
    setStatus({ kind: 'saving' });
    try {
      await deleteProperty(client, entity, p.name);
      setStatus({ kind: 'done', message: `Removed ${p.name}.` });
      state.reload();
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  return (
    <Section title="Properties" id="properties">
      <Async state={state} loadingLabel="Loading properties…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No properties">
              <p>Name/value pairs such as a serial number or an installer, searchable across the org.</p>
            </EmptyState>
          ) : (
            <ul className="list prop-list" aria-label="Properties" aria-busy={state.loading}>
              {items.map((p) => (
                <li key={p.name} className="list-row" data-property={p.name}>
                  <div className="prop-main">
                    <span className="prop-name">{p.name}</span>{' '}
                    {p.value ? (
                      <Link
                        className="prop-value"
                        to={`/devices?${new URLSearchParams({ prop: p.name, pvalue: p.value })}`}
                        title={`Find every device and project with ${p.name} = ${p.value}`}
                      >
                        {p.value}
                      </Link>
                    ) : (
                      <span className="muted">(empty)</span>
                    )}
                    <div className="muted small">
                      updated <RelativeTime value={p.updatedAt} />
                      <span className="visually-hidden"> ({formatDateTimeZone(p.updatedAt)})</span>
                    </div>
                  </div>
                  {can.editMetadata && (
                    <div className="row-actions">
                      <button type="button" className="btn btn-small" onClick={() => edit(p)}>
                        Edit<span className="visually-hidden"> {p.name}</span>
                      </button>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => remove(p)} disabled={status.kind === 'saving'}>
                        Remove<span className="visually-hidden"> {p.name}</span>
                      </button>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Async>
      {can.editMetadata && (
        <form className="form inline-form" onSubmit={save} aria-label="Add or change a property">
          <div className="inline-form-fields">
            <label className="field">
              <span>Name</span>
              <input
                name="property-name"
                required
                maxLength={128}
                value={form.name}
                onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))}
                placeholder="serial"
                autoComplete="off"
              />
            </label>
            <label className="field field-grow">
              <span>Value</span>
              <input
                ref={valueRef}
                name="property-value"
                maxLength={PROPERTY_VALUE_MAX}
                value={form.value}
                onChange={(e) => setForm((f) => ({ ...f, value: e.target.value }))}
                placeholder="SN-1234"
                autoComplete="off"
                aria-describedby={`${id}-status`}
              />
            </label>
            <button type="submit" className="btn btn-primary" disabled={status.kind === 'saving' || !form.name.trim()}>
              Save property
            </button>
          </div>
          <span id={`${id}-status`} aria-live="polite" className={status.kind === 'error' ? 'field-error' : 'muted small'}>
            {status.kind === 'done' || status.kind === 'error' ? status.message : ''}
          </span>
        </form>
      )}
    </Section>
  );
}
