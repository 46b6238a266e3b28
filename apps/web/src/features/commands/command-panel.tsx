/**
 * Send a command to the device and follow it live: queued → sent → delivered →
 * succeeded | failed | expired | cancelled. Templates name the commands a
 * device accepts and their params schema; devices without one take any name.
 */
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import type { Device } from '@tether/api-client';
import type { LiveCommandEvent } from '@tether/contracts';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone, toMs } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, Loading, describeError } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import type { DeviceTemplate } from '../devices/device-template';
import {
  applyCommandEvent,
  cancelCommand,
  listCommands,
  sendCommand,
  statusTime,
  upsertCommand,
  SUGGESTED_COMMANDS,
  type Command,
  type SendCommandInput,
} from './commands';
import { fieldsFromSchema, initialValues, paramsFromJson, paramsFromValues, type ParamErrors, type ParamValues } from './params-schema';
import { ParamsForm } from './params-form';

const PAGE = 20;

function CommandStatusBadge({ status }: { status: string }) {
  return <span className={`badge cmd cmd-${status}`}>{status}</span>;
}

function Json({ value }: { value: unknown }) {
  const text = JSON.stringify(value);
  if (text.length <= 80) return <code className="payload">{text}</code>;
  return (
    <details>
      <summary>
        <code className="payload">{text.slice(0, 60)}…</code>
      </summary>
      <pre className="code">{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** The send form: command, params, timeout and retries. */
function SendCommandForm({ device, template, onSent }: { device: Device; template: DeviceTemplate | null; onSent(c: Command): void }) {
  const { client } = useSession();
  const id = useId();
  const specs = template?.commands ?? null;
  const [name, setName] = useState(() => specs?.[0]?.name ?? '');
  const spec = specs?.find((c) => c.name === name);
  const fields = useMemo(() => (spec?.params ? fieldsFromSchema(spec.params) : null), [spec]);
  const [values, setValues] = useState<ParamValues>(() => (fields ? initialValues(fields) : {}));
  const [json, setJson] = useState('');
  const [timeoutS, setTimeoutS] = useState('');
  const [retries, setRetries] = useState('');
  const [errors, setErrors] = useState<ParamErrors>({});
  const [status, setStatus] = useState<{ kind: 'idle' | 'sending' } | { kind: 'error'; message: string }>({ kind: 'idle' });

  // Another command: the last answer was about the previous one.
  const pick = (next: string) => {
    setName(next);
    setStatus({ kind: 'idle' });
  };

  // A different command has different params.
  useEffect(() => {
    setValues(fields ? initialValues(fields) : {});
    setErrors({});
    setJson('');
  }, [fields]);

  const timeout = timeoutS.trim() === '' ? undefined : Number(timeoutS);
  const timeoutError = timeout !== undefined && !(timeout >= 0.1 && timeout <= 3600) ? 'Between 0.1 and 3600 seconds.' : null;
  const retryCount = retries.trim() === '' ? undefined : Number(retries);
  const retriesError =
    retryCount !== undefined && !(Number.isInteger(retryCount) && retryCount >= 0 && retryCount <= 20) ? 'A whole number from 0 to 20.' : null;
  const jsonParams = fields ? null : paramsFromJson(json);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim() || timeoutError || retriesError) return;
    let params: Record<string, unknown>;
    if (fields) {
      const r = paramsFromValues(fields, values);
      if (!r.ok) {
        setErrors(r.errors);
        setStatus({ kind: 'error', message: 'Check the highlighted parameters.' });
        return;
      }
      params = r.params;
    } else {
      if (!jsonParams?.ok) return;
      params = jsonParams.params;
    }
    setErrors({});
    setStatus({ kind: 'sending' });
    const input: SendCommandInput = { name: name.trim(), params };
    if (timeout !== undefined) input.timeoutMs = Math.round(timeout * 1000);
    if (retryCount !== undefined) input.retries = retryCount;
    try {
      onSent(await sendCommand(client, device.id, input));
      setStatus({ kind: 'idle' });
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  if (specs && specs.length === 0) {
    return (
      <EmptyState title="No commands">
        <p>The template “{template!.name}” lists no commands, so this device accepts none.</p>
      </EmptyState>
    );
  }

  return (
    <form className="form command-form" onSubmit={submit} noValidate aria-label="Send a command">
      <div className="command-grid">
        {specs ? (
          // Labelled by id, not by wrapping: a wrapping label would add the options to the select's name.
          <div className="field">
            <label htmlFor={`${id}-command`}>Command</label>
            <select
              id={`${id}-command`}
              name="command"
              value={name}
              onChange={(e) => pick(e.target.value)}
              aria-describedby={spec?.description ? `${id}-desc` : undefined}
            >
              {specs.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <label className="field">
            <span>Command</span>
            <input
              name="command"
              required
              maxLength={128}
              list={`${id}-suggestions`}
              value={name}
              onChange={(e) => pick(e.target.value)}
              placeholder="reboot"
              autoComplete="off"
              aria-describedby={`${id}-free`}
            />
            <datalist id={`${id}-suggestions`}>
              {SUGGESTED_COMMANDS.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
        )}
        <label className="field">
          <span>Timeout (s)</span>
          <input
            name="timeout"
            type="number"
            inputMode="decimal"
            min={0.1}
            max={3600}
            step="any"
            placeholder="30"
            value={timeoutS}
            onChange={(e) => setTimeoutS(e.target.value)}
            aria-invalid={timeoutError ? true : undefined}
            aria-describedby={`${id}-timeout`}
          />
          <small id={`${id}-timeout`} className={timeoutError ? 'field-error' : 'muted'}>
            {timeoutError ?? 'How long to wait for delivery before a retry.'}
          </small>
        </label>
        <label className="field">
          <span>Retries</span>
          <input
            name="retries"
            type="number"
            inputMode="numeric"
            min={0}
            max={20}
            step={1}
            placeholder="0"
            value={retries}
            onChange={(e) => setRetries(e.target.value)}
            aria-invalid={retriesError ? true : undefined}
            aria-describedby={`${id}-retries`}
          />
          <small id={`${id}-retries`} className={retriesError ? 'field-error' : 'muted'}>
            {retriesError ?? 'Resends while undelivered.'}
          </small>
        </label>
      </div>
      {spec?.description && (
        <p id={`${id}-desc`} className="muted small command-desc">
          {spec.description}
        </p>
      )}
      {!specs && (
        <p id={`${id}-free`} className="muted small command-desc">
          {device.templateId
            ? 'The template could not be loaded: any name can be sent, and the server checks it.'
            : 'This device has no template, so it accepts any command name; suggestions: ' + SUGGESTED_COMMANDS.join(', ') + '.'}
        </p>
      )}
      <fieldset className="params">
        <legend>Parameters</legend>
        {fields && fields.length > 0 && (
          <ParamsForm fields={fields} values={values} errors={errors} onChange={(n, v) => setValues((prev) => ({ ...prev, [n]: v }))} />
        )}
        {fields && fields.length === 0 && <p className="muted small">This command takes no parameters.</p>}
        {!fields && (
          <label className="field">
            <span>As a JSON object (optional)</span>
            <textarea
              name="params"
              rows={3}
              spellCheck={false}
              value={json}
              onChange={(e) => setJson(e.target.value)}
              placeholder='{"duration": 500}'
              aria-invalid={jsonParams && !jsonParams.ok ? true : undefined}
              aria-describedby={`${id}-json`}
            />
            <small id={`${id}-json`} className={jsonParams && !jsonParams.ok ? 'field-error' : 'muted'}>
              {jsonParams && !jsonParams.ok
                ? jsonParams.error
                : spec
                  ? `The template defines no parameters for ${spec.name}: leave this empty, or send a JSON object as is.`
                  : 'Sent to the device as the command’s params; empty sends {}.'}
            </small>
          </label>
        )}
      </fieldset>
      <div className="form-actions">
        <span role="alert" className="field-error" data-testid="command-error">
          {status.kind === 'error' ? status.message : ''}
        </span>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={status.kind === 'sending' || !name.trim() || Boolean(timeoutError || retriesError) || (jsonParams !== null && !jsonParams.ok)}
        >
          {status.kind === 'sending' ? 'Sending…' : 'Send command'}
        </button>
      </div>
    </form>
  );
}

function CommandRow({ c, canCancel, onCancel, busy }: { c: Command; canCancel: boolean; onCancel(): void; busy: boolean }) {
  const reached = statusTime(c);
  return (
    <tr data-testid={`command-${c.id}`} data-status={c.status}>
      <td data-label="Command">
        <div>
          <strong>{c.name}</strong>
          {Object.keys(c.params).length > 0 && (
            <div>
              <Json value={c.params} />
            </div>
          )}
        </div>
      </td>
      <td data-label="Status">
        <div>
          <CommandStatusBadge status={c.status} />
          {c.attempts > 1 && <div className="muted small">{c.attempts} attempts</div>}
        </div>
      </td>
      <td data-label="Times" className="small">
        <div>
          <time dateTime={c.createdAt} title={formatDateTimeZone(c.createdAt)}>
            {formatDateTime(c.createdAt)}
          </time>
          <div className="muted">
            {c.status === 'queued' ? (
              <>
                expires <RelativeTime value={c.expiresAt} />
              </>
            ) : (
              <>
                {c.status} after {seconds(toMs(reached) - toMs(c.createdAt))}
              </>
            )}
          </div>
        </div>
      </td>
      <td data-label="Result" className="payload-cell" data-testid="command-result">
        {c.error ? (
          <span className="field-error">{c.error}</span>
        ) : c.result !== null && c.result !== undefined ? (
          <Json value={c.result} />
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td data-label="Actions">
        {c.status === 'queued' && canCancel ? (
          <button type="button" className="btn btn-small btn-danger" onClick={onCancel} disabled={busy}>
            Cancel<span className="visually-hidden"> {c.name}</span>
          </button>
        ) : null}
      </td>
    </tr>
  );
}

export function CommandPanel({ device, template }: { device: Device; template: { data: DeviceTemplate | null | undefined; error: Error | undefined } }) {
  const { client, can, role } = useSession();
  const { resumes } = useLiveState();
  const [limit, setLimit] = useState(PAGE);
  const history = useAsync(() => listCommands(client, device.id, limit), [client, device.id, limit, resumes]);
  const { setData, reload } = history;
  const [lastId, setLastId] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState<string | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);

  // Live events since the list loaded, replayed over it: a reload that raced an event cannot undo it.
  const events = useRef(new Map<string, LiveCommandEvent['command'][]>());
  const [, setVersion] = useState(0);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (reloadTimer.current && clearTimeout(reloadTimer.current)), []);

  useLiveEvents(null, (e) => {
    if (e.type !== 'command' || e.deviceId !== device.id) return;
    const list = events.current.get(e.command.id) ?? [];
    events.current.set(e.command.id, [...list, e.command].slice(-8));
    setVersion((v) => v + 1);
    // A command sent from elsewhere (another tab, the API): fetch it.
    if (!history.data?.items.some((c) => c.id === e.command.id) && !reloadTimer.current) {
      reloadTimer.current = setTimeout(() => {
        reloadTimer.current = null;
        reload();
      }, 400);
    }
  });

  const show = (c: Command) => (events.current.get(c.id) ?? []).reduce(applyCommandEvent, c);
  const upsert = (c: Command) => setData((prev) => ({ items: upsertCommand(prev?.items ?? [], c) }));

  const cancel = async (c: Command) => {
    setCancelling(c.id);
    setRowError(null);
    try {
      upsert(await cancelCommand(client, device.id, c.id));
    } catch (err) {
      setRowError(`Could not cancel ${c.name}: ${describeError(err)}`);
      reload();
    } finally {
      setCancelling(null);
    }
  };

  const last = lastId ? history.data?.items.find((c) => c.id === lastId) : undefined;
  const lastShown = last && show(last);

  let form;
  if (!can.sendCommands) {
    form = (
      <p className="muted small" data-testid="commands-read-only">
        You have the {role} role: operators and above can send commands.
      </p>
    );
  } else if (device.templateId && template.data === undefined && !template.error) {
    form = <Loading label="Loading the device template…" />;
  } else {
    form = (
      <>
        {template.error && (
          <p className="notice notice-warning" role="note">
            The device template could not be loaded ({describeError(template.error)}).
          </p>
        )}
        <SendCommandForm
          key={template.data?.id ?? 'free'}
          device={device}
          template={template.data ?? null}
          onSent={(c) => {
            upsert(c);
            setLastId(c.id);
          }}
        />
      </>
    );
  }

  return (
    <Section title="Commands" id="commands" actions={template.data ? <span className="muted small">From template “{template.data.name}”</span> : null}>
      {form}
      <div className="last-command" aria-live="polite" data-testid="last-command">
        {lastShown && (
          <p className="notice">
            <strong>{lastShown.name}</strong> <CommandStatusBadge status={lastShown.status} />{' '}
            {lastShown.status === 'succeeded' && lastShown.result !== null && lastShown.result !== undefined && (
              <>
                result <Json value={lastShown.result} />
              </>
            )}
            {lastShown.error && <span className="field-error">{lastShown.error}</span>}
          </p>
        )}
      </div>
      <h3 className="h3">History</h3>
      {rowError && (
        <p className="notice notice-error" role="alert">
          {rowError}
        </p>
      )}
      <Async state={history} loadingLabel="Loading commands…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No commands yet">
              <p>Commands sent to this device, and what became of them, appear here.</p>
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Command history">
                  <thead>
                    <tr>
                      <th scope="col">Command</th>
                      <th scope="col">Status</th>
                      <th scope="col">Created</th>
                      <th scope="col">Result</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((c) => (
                      <CommandRow key={c.id} c={show(c)} canCancel={can.sendCommands} busy={cancelling === c.id} onCancel={() => cancel(c)} />
                    ))}
                  </tbody>
                </table>
              </div>
              {items.length >= limit && (
                <button type="button" className="btn btn-small" onClick={() => setLimit((l) => l + 50)} disabled={history.loading}>
                  {history.loading ? 'Loading…' : 'Show older commands'}
                </button>
              )}
            </>
          )
        }
      </Async>
    </Section>
  );
}
