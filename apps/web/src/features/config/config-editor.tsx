/**
 * Configuration values of one scope (a device, a project or the org). On a
 * device the list is the resolved configuration: each value carries a badge
 * for where it comes from, and setting a value here overrides it for the
 * device alone; removing the override lets the inherited value show again.
 */
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { formatJsonText, parseJsonText } from '../../lib/json-text';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { CONFIG_KEY, deleteConfigValue, loadConfig, setConfigValue, type ConfigEntry, type ConfigSource, type ConfigTarget } from './config';

function SourceBadge({ source }: { source: ConfigSource }) {
  return (
    <span className={`badge src src-${source}`} data-testid="config-source">
      {source}
    </span>
  );
}

function JsonValue({ value }: { value: unknown }) {
  const text = formatJsonText(value);
  return text.includes('\n') ? <pre className="code config-value">{text}</pre> : <code className="config-value">{text}</code>;
}

export function ConfigEditor({ target, title = 'Configuration', intro }: { target: ConfigTarget; title?: string; intro: ReactNode }) {
  const { client, can, role } = useSession();
  const id = useId();
  const key = JSON.stringify(target);
  const state = useAsync(() => loadConfig(client, JSON.parse(key) as ConfigTarget), [client, key]);
  const [form, setForm] = useState({ key: '', value: '' });
  const [touched, setTouched] = useState(false);
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' } | { kind: 'done' | 'error'; message: string }>({ kind: 'idle' });
  const valueRef = useRef<HTMLTextAreaElement>(null);
  const here = target.scope;
  const scopeName = here === 'org' ? 'the org' : `this ${here}`;

  const keyError = form.key && !CONFIG_KEY.test(form.key) ? 'Letters, digits, “_”, “.” and “-”, at most 128.' : null;
  const parsed = parseJsonText(form.value);
  const valueError = touched && form.value.trim() && !parsed.ok ? parsed.error : null;

  const edit = (e: ConfigEntry) => {
    setForm({ key: e.key, value: formatJsonText(e.value) });
    setTouched(false);
    setStatus({ kind: 'idle' });
    valueRef.current?.focus();
    valueRef.current?.scrollIntoView({ block: 'nearest' });
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!form.key || keyError) return;
    if (!parsed.ok) return setStatus({ kind: 'error', message: parsed.error });
    setStatus({ kind: 'saving' });
    try {
      await setConfigValue(client, target, form.key, parsed.value);
      setStatus({ kind: 'done', message: `Set ${form.key} on ${scopeName}.` });
      setForm({ key: '', value: '' });
      setTouched(false);
      state.reload();
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  const remove = async (entry: ConfigEntry) => {
    setStatus({ kind: 'saving' });
    try {
      await deleteConfigValue(client, target, entry.key);
      setStatus({
        kind: 'done',
        message: here === 'device' ? `Removed the device value of ${entry.key}; an inherited value applies again, if there is one.` : `Removed ${entry.key}.`,
      });
      state.reload();
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  const sectionId = here === 'device' ? 'config' : `${here}-config`;
  return (
    <Section title={title} id={sectionId}>
      <p className="muted small section-intro">{intro}</p>
      <Async state={state} loadingLabel="Loading configuration…">
        {(entries) =>
          entries.length === 0 ? (
            <EmptyState title="No configuration values">
              <p>{here === 'device' ? 'Nothing is set on this device, its project or the org.' : `Nothing is set on ${scopeName}.`}</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label={title} aria-busy={state.loading}>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Value</th>
                    {here === 'device' && <th scope="col">From</th>}
                    {here === 'device' && <th scope="col">Updated</th>}
                    {can.editConfig && (
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e) => {
                    const own = !e.source || e.source === here;
                    return (
                      <tr key={e.key} data-config-key={e.key}>
                        <td data-label="Key" className="strong">
                          <code>{e.key}</code>
                        </td>
                        <td data-label="Value" className="payload-cell">
                          <JsonValue value={e.value} />
                        </td>
                        {here === 'device' && <td data-label="From">{e.source && <SourceBadge source={e.source} />}</td>}
                        {here === 'device' && (
                          <td data-label="Updated" className="small nowrap">
                            {e.updatedAt && (
                              <time dateTime={e.updatedAt} title={formatDateTimeZone(e.updatedAt)}>
                                {formatDateTime(e.updatedAt)}
                              </time>
                            )}
                          </td>
                        )}
                        {can.editConfig && (
                          <td data-label="Actions">
                            <div className="row-actions">
                              <button type="button" className="btn btn-small" onClick={() => edit(e)}>
                                {own ? 'Edit' : `Override`}
                                <span className="visually-hidden"> {e.key}</span>
                              </button>
                              {own && (
                                <button type="button" className="btn btn-small btn-danger" onClick={() => remove(e)} disabled={status.kind === 'saving'}>
                                  {here === 'device' ? 'Remove override' : 'Remove'}
                                  <span className="visually-hidden"> {e.key}</span>
                                </button>
                              )}
                            </div>
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      {can.editConfig ? (
        <form className="form config-form" onSubmit={save} noValidate aria-label={`Set a value on ${scopeName}`}>
          <h3 className="h3">Set a value on {scopeName}</h3>
          <div className="config-form-grid">
            <label className="field">
              <span>Key</span>
              <input
                name="key"
                required
                maxLength={128}
                value={form.key}
                onChange={(e) => setForm((f) => ({ ...f, key: e.target.value }))}
                placeholder="reportIntervalMs"
                autoComplete="off"
                spellCheck={false}
                aria-invalid={keyError ? true : undefined}
                aria-describedby={`${id}-key`}
              />
              <small id={`${id}-key`} className={keyError ? 'field-error' : 'muted'}>
                {keyError ?? 'Letters, digits, _ . -'}
              </small>
            </label>
            <label className="field">
              <span>Value (JSON)</span>
              <textarea
                ref={valueRef}
                name="value"
                rows={form.value.includes('\n') ? 4 : 1}
                spellCheck={false}
                value={form.value}
                onChange={(e) => setForm((f) => ({ ...f, value: e.target.value }))}
                onBlur={() => setTouched(true)}
                placeholder='5000, true, "eco" or {"a": 1}'
                aria-invalid={valueError ? true : undefined}
                aria-describedby={`${id}-value`}
              />
              <small id={`${id}-value`} className={valueError ? 'field-error' : 'muted'} data-testid="config-value-help">
                {valueError ?? 'Text needs double quotes: "eco".'}
              </small>
            </label>
          </div>
          <div className="form-actions">
            <span aria-live="polite" className={status.kind === 'error' ? 'field-error' : 'muted'} data-testid="config-status">
              {status.kind === 'done' || status.kind === 'error' ? status.message : ''}
            </span>
            <button type="submit" className="btn btn-primary" disabled={status.kind === 'saving' || !form.key || Boolean(keyError) || !form.value.trim()}>
              {status.kind === 'saving' ? 'Saving…' : `Set on ${here}`}
            </button>
          </div>
        </form>
      ) : (
        <p className="muted small" data-testid="config-read-only">
          You have the {role} role: operators and above can change configuration.
        </p>
      )}
    </Section>
  );
}
