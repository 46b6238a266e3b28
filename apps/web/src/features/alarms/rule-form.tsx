import { cloneElement, useId, useState, type FormEvent, type ReactElement, type ReactNode } from 'react';
import type { AlarmRule, Device, DeviceTemplate, NotificationTarget, Project } from '@tether/api-client';
import { ApiError } from '@tether/api-client';
import { useSession } from '../../app/session';
import { describeError } from '../../components/ui/state-views';
import { ALARM_SEVERITIES, KIND_LABEL, ruleSummary, type RuleKind, type RuleScope, type Severity } from './alarm-format';
import {
  COMPARISON_OPS,
  DEFAULT_MESSAGE,
  FormError,
  emptyRuleForm,
  formToInput,
  ruleToForm,
  type ComparisonOp,
  type RateDirection,
  type RuleForm,
} from './rule-form-model';

export interface ScopeChoices {
  projects: Project[];
  templates: DeviceTemplate[];
  devices: Device[];
}

const SCOPES: { id: RuleScope; label: string }[] = [
  { id: 'org', label: 'Whole org' },
  { id: 'project', label: 'Project' },
  { id: 'template', label: 'Device template' },
  { id: 'device', label: 'One device' },
];

function OpFields({
  legend,
  op,
  value,
  value2,
  onChange,
}: {
  legend: string;
  op: ComparisonOp;
  value: string;
  value2: string;
  onChange(patch: { op?: ComparisonOp; value?: string; value2?: string }): void;
}) {
  const two = op === 'between' || op === 'outside';
  return (
    <fieldset className="field rule-comparison">
      <legend>{legend}</legend>
      <div className="inline-form-fields">
        <select aria-label={`${legend}: operator`} value={op} onChange={(e) => onChange({ op: e.target.value as ComparisonOp })}>
          {COMPARISON_OPS.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        <input aria-label={`${legend}: value`} inputMode="decimal" size={8} value={value} onChange={(e) => onChange({ value: e.target.value })} />
        {two && (
          <>
            <span className="muted">and</span>
            <input aria-label={`${legend}: upper value`} inputMode="decimal" size={8} value={value2} onChange={(e) => onChange({ value2: e.target.value })} />
          </>
        )}
      </div>
    </fieldset>
  );
}

/** A labelled control; its hint is its description, not part of its name. */
function Field({
  label,
  children,
  hint,
  wide,
}: {
  label: string;
  children: ReactElement<{ id?: string; 'aria-describedby'?: string }>;
  hint?: ReactNode;
  wide?: boolean;
}) {
  const id = useId();
  return (
    <div className={`field ${wide ? 'field-wide' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, 'aria-describedby': hint ? `${id}-hint` : undefined })}
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** The fields that depend on the rule's kind. */
function ConditionFields({ f, set }: { f: RuleForm; set(patch: Partial<RuleForm>): void }) {
  switch (f.kind) {
    case 'threshold':
      return (
        <>
          <OpFields legend="Raise when the value is" op={f.op} value={f.value} value2={f.value2} onChange={set} />
          <Field label="Hold for (seconds)" hint="0: at once">
            <input inputMode="numeric" value={f.durationS} onChange={(e) => set({ durationS: e.target.value })} />
          </Field>
          <div className="field-wide">
            <label className="check">
              <input type="checkbox" checked={f.clearOn} onChange={(e) => set({ clearOn: e.target.checked })} />
              Clear on its own condition (hysteresis); otherwise it clears as soon as the condition stops holding
            </label>
          </div>
          {f.clearOn && (
            <OpFields
              legend="Clear when the value is"
              op={f.clearOp}
              value={f.clearValue}
              value2={f.clearValue2}
              onChange={(p) => set({ clearOp: p.op ?? f.clearOp, clearValue: p.value ?? f.clearValue, clearValue2: p.value2 ?? f.clearValue2 })}
            />
          )}
        </>
      );
    case 'rate':
      return (
        <>
          <Field label="Direction">
            <select value={f.direction} onChange={(e) => set({ direction: e.target.value as RateDirection })}>
              <option value="rise">rises</option>
              <option value="fall">falls</option>
              <option value="any">changes either way</option>
            </select>
          </Field>
          <Field label="By more than">
            <input inputMode="decimal" value={f.by} onChange={(e) => set({ by: e.target.value })} />
          </Field>
          <Field label="Within (seconds)">
            <input inputMode="numeric" value={f.windowS} onChange={(e) => set({ windowS: e.target.value })} />
          </Field>
        </>
      );
    case 'no_data':
      return (
        <Field label="Silent for (seconds)" hint="At least 30; cleared when the device is heard from">
          <input inputMode="numeric" value={f.silentS} onChange={(e) => set({ silentS: e.target.value })} />
        </Field>
      );
    case 'health_warning':
      return (
        <Field label="Lowest score" hint="0.5 to 1: Fleet Health flags a device at 0.5; cleared when it no longer does">
          <input inputMode="decimal" value={f.minScore} onChange={(e) => set({ minScore: e.target.value })} />
        </Field>
      );
    case 'device_alert':
      return (
        <Field label="Clear after (seconds without a repeat)" hint="Empty: cleared by hand">
          <input inputMode="numeric" value={f.clearAfterS} onChange={(e) => set({ clearAfterS: e.target.value })} />
        </Field>
      );
  }
}

/** The rule as it reads in the list, while the form is filled in ('' until its numbers are). */
function previewOf(f: RuleForm): string {
  try {
    const i = formToInput(f);
    return ruleSummary({ kind: i.kind, key: i.key ?? null, condition: i.condition, clear: i.clear ?? null, durationS: i.durationS ?? 0 });
  } catch {
    return '';
  }
}

type PreviewResult = Awaited<ReturnType<ReturnType<typeof useSession>['client']['alarmRules']['preview']>>;

/** "Would have fired 3 times": the rule as filled in, replayed over a device's last 24 h (threshold and rate rules). */
function TryOnDevice({ f, devices }: { f: RuleForm; devices: Device[] }) {
  const { client } = useSession();
  const [deviceId, setDeviceId] = useState(f.scope === 'device' && f.scopeId ? f.scopeId : (devices[0]?.id ?? ''));
  const [result, setResult] = useState<PreviewResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setError(null);
    setResult(null);
    try {
      const i = formToInput(f);
      setResult(
        await client.alarmRules.preview({ deviceId, rule: { kind: i.kind, key: i.key, condition: i.condition, clear: i.clear, durationS: i.durationS } }),
      );
    } catch (err) {
      setError(err instanceof FormError ? err.message : err instanceof ApiError ? `${err.code}: ${err.message}` : describeError(err));
    }
  };
  return (
    <fieldset className="field field-wide" data-testid="rule-try">
      <legend>Try it on a device</legend>
      <select aria-label="Device to try the rule on" value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
        {devices.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </select>{' '}
      <button type="button" className="btn" disabled={!deviceId} onClick={() => void run()}>
        Replay the last 24 h
      </button>
      {result && (
        <p className="small" data-testid="rule-try-result">
          Would have fired <strong>{result.fired}</strong> {result.fired === 1 ? 'time' : 'times'} over {result.points} values
          {result.truncated ? ' (the newest 100,000)' : ''}
          {result.occurrences.length > 0 &&
            `: ${result.occurrences
              .slice(0, 5)
              .map((o) => `${new Date(o.raisedAt).toLocaleString()} (peak ${o.peak}${o.clearedAt ? '' : ', still open'})`)
              .join('; ')}${result.occurrences.length > 5 ? '; …' : ''}`}
        </p>
      )}
      {error && (
        <p className="notice notice-error small" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** Creates a rule, or edits one (its scope then stays: the server keeps it). */
export function RuleFormView({
  rule,
  choices,
  targets,
  onSaved,
  onCancel,
}: {
  rule: AlarmRule | null;
  choices: ScopeChoices;
  targets: NotificationTarget[];
  onSaved(rule: AlarmRule): void;
  onCancel(): void;
}) {
  const { client } = useSession();
  const [f, setF] = useState<RuleForm>(() => (rule ? ruleToForm(rule) : emptyRuleForm()));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<RuleForm>) => setF((x) => ({ ...x, ...patch }));
  const setKind = (kind: RuleKind) =>
    // A message still at its default follows the kind.
    setF((x) => ({ ...x, kind, message: x.message === DEFAULT_MESSAGE[x.kind] ? DEFAULT_MESSAGE[kind] : x.message }));

  const preview = previewOf(f);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let input;
    try {
      input = formToInput(f);
    } catch (err) {
      if (err instanceof FormError) return setError(err.message);
      throw err;
    }
    setBusy(true);
    try {
      onSaved(rule ? await client.alarmRules.update(rule.id, input) : await client.alarmRules.create(input));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 400 ? `${err.code}: ${err.message}` : describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const scopeOptions: { id: string; name: string }[] =
    f.scope === 'project' ? choices.projects : f.scope === 'template' ? choices.templates : f.scope === 'device' ? choices.devices : [];
  const keyLabel = f.kind === 'device_alert' ? 'Alert type' : 'Telemetry key';

  return (
    <form className="form rule-form" onSubmit={submit} aria-label={rule ? `Edit rule ${rule.name}` : 'New rule'}>
      <div className="form-grid">
        <Field label="Name" hint="Rules of one name at several scopes override each other: the most specific applies">
          <input required maxLength={200} value={f.name} onChange={(e) => set({ name: e.target.value })} placeholder="Boiler overheating" autoFocus />
        </Field>
        <Field label="Severity">
          <select value={f.severity} onChange={(e) => set({ severity: e.target.value as Severity })}>
            {ALARM_SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Applies to" hint={rule ? 'A rule keeps its scope; make another rule for another scope' : undefined}>
          <select value={f.scope} disabled={rule !== null} onChange={(e) => set({ scope: e.target.value as RuleScope, scopeId: '' })}>
            {SCOPES.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </Field>
        {f.scope !== 'org' ? (
          <Field label={SCOPES.find((s) => s.id === f.scope)!.label}>
            <select required value={f.scopeId} disabled={rule !== null} onChange={(e) => set({ scopeId: e.target.value })}>
              <option value="">Choose…</option>
              {scopeOptions.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </Field>
        ) : (
          <span />
        )}
        <Field label="Kind">
          <select value={f.kind} onChange={(e) => setKind(e.target.value as RuleKind)}>
            {(Object.keys(KIND_LABEL) as RuleKind[]).map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </Field>
        {f.kind !== 'no_data' && f.kind !== 'health_warning' ? (
          <Field label={keyLabel}>
            <input required value={f.key} onChange={(e) => set({ key: e.target.value })} placeholder={f.kind === 'device_alert' ? 'gas' : 'temperature'} />
          </Field>
        ) : (
          <span />
        )}
        <ConditionFields f={f} set={set} />
        {(f.kind === 'threshold' || f.kind === 'rate') && choices.devices.length > 0 && <TryOnDevice f={f} devices={choices.devices} />}
        <Field label="Message" wide hint="With {{device.name}}, {{value}}, {{key}}, {{rule.name}}, {{alert.message}}">
          <input required maxLength={500} value={f.message} onChange={(e) => set({ message: e.target.value })} />
        </Field>
        <fieldset className="field field-wide">
          <legend>Notify</legend>
          {targets.length === 0 ? (
            <p className="muted small">No notification targets yet: an admin adds webhooks and e-mail recipients on the Admin page.</p>
          ) : (
            <div className="checks">
              {targets.map((t) => (
                <label key={t.id} className="check">
                  <input
                    type="checkbox"
                    checked={f.notify.includes(t.id)}
                    onChange={(e) => set({ notify: e.target.checked ? [...f.notify, t.id] : f.notify.filter((x) => x !== t.id) })}
                  />
                  {t.name} <span className="muted small">({t.kind})</span>
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <Field label="Escalate after (minutes)" hint="Still unacknowledged this long: tell the targets below too. Empty: never">
          <input inputMode="numeric" value={f.escalateAfterMin} onChange={(e) => set({ escalateAfterMin: e.target.value })} />
        </Field>
        <Field label="At most (notifications an hour)" hint="The rest are summarised in one notification after the hour. Empty: no limit">
          <input inputMode="numeric" value={f.stormLimit} onChange={(e) => set({ stormLimit: e.target.value })} />
        </Field>
        {f.escalateAfterMin.trim() !== '' && targets.length > 0 && (
          <fieldset className="field field-wide">
            <legend>Escalate to</legend>
            <div className="checks">
              {targets.map((t) => (
                <label key={t.id} className="check">
                  <input
                    type="checkbox"
                    checked={f.escalateNotify.includes(t.id)}
                    onChange={(e) => set({ escalateNotify: e.target.checked ? [...f.escalateNotify, t.id] : f.escalateNotify.filter((x) => x !== t.id) })}
                  />
                  {t.name} <span className="muted small">({t.kind})</span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <fieldset className="field field-wide">
          <legend>Quiet hours</legend>
          <div className="quiet-hours">
            <label className="check">
              <input type="checkbox" checked={f.quietOn} onChange={(e) => set({ quietOn: e.target.checked })} />
              Hold notifications
            </label>
            <span>from</span>
            <input type="time" aria-label="Quiet from" value={f.quietFrom} disabled={!f.quietOn} onChange={(e) => set({ quietFrom: e.target.value })} />
            <span>to</span>
            <input type="time" aria-label="Quiet to" value={f.quietTo} disabled={!f.quietOn} onChange={(e) => set({ quietTo: e.target.value })} />
            <span>in</span>
            <input aria-label="Time zone" value={f.quietTimezone} disabled={!f.quietOn} onChange={(e) => set({ quietTimezone: e.target.value })} />
          </div>
          <p className="muted small">Held notifications go out when the quiet hours end.</p>
        </fieldset>
        <div className="field-wide">
          <label className="check">
            <input type="checkbox" checked={f.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
            Enabled
          </label>
        </div>
      </div>
      {preview && (
        <p className="muted small" data-testid="rule-preview">
          Reads: <strong>{preview}</strong>
        </p>
      )}
      {error && (
        <p className="notice notice-error" role="alert" data-testid="rule-error">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : rule ? 'Save rule' : 'Create rule'}
        </button>
      </div>
    </form>
  );
}
