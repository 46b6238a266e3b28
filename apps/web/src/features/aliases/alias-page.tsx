import { useMemo, useState, type FormEvent } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, navigate } from '../../lib/router';
import { formatDateTimeZone, fromDateTimeLocal, timeZoneLabel, toDateTimeLocal } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { ConfirmDialog } from '../../components/ui/dialog';
import { Async, describeError } from '../../components/ui/state-views';
import { useProjects } from '../devices/use-projects';
import { HistoryPanel } from '../devices/telemetry-panel';
import { aliasTelemetry, createAlias, deleteAlias, getAlias, tapAt, updateAlias, type Alias, type TapForm } from './aliases';

const DEVICE_CHOICES = 500;

/** The org's devices by name, for the tap pickers. */
function useDeviceChoices() {
  const { client } = useSession();
  const state = useAsync(() => client.devices.list({ limit: DEVICE_CHOICES }), [client]);
  return useMemo(() => [...(state.data?.items ?? [])].sort((a, b) => a.name.localeCompare(b.name)), [state.data]);
}

/** One tap of the editor: a device, one of its keys (those it reported are offered), and a start. */
function TapRow({
  tap,
  index,
  devices,
  onChange,
  onRemove,
}: {
  tap: TapForm;
  index: number;
  devices: { id: string; name: string }[];
  onChange(t: TapForm): void;
  onRemove?(): void;
}) {
  const { client } = useSession();
  const keys = useAsync(async () => (tap.deviceId ? Object.keys((await client.devices.latest(tap.deviceId)).values) : []), [client, tap.deviceId]);
  const listId = `tap-keys-${index}`;
  const n = index + 1;
  return (
    <fieldset className="form-grid tap-row" data-testid={`tap-${index}`}>
      <legend className="visually-hidden">Tap {n}</legend>
      <label className="field">
        <span>Device</span>
        <select required value={tap.deviceId} onChange={(e) => onChange({ ...tap, deviceId: e.target.value })} aria-label={`Tap ${n} device`}>
          <option value="">Choose a device</option>
          {devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Key</span>
        <input
          required
          maxLength={128}
          list={listId}
          value={tap.key}
          onChange={(e) => onChange({ ...tap, key: e.target.value })}
          placeholder="temperature"
          spellCheck={false}
          className="mono"
          aria-label={`Tap ${n} key`}
        />
        <datalist id={listId}>
          {(keys.data ?? []).map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
      </label>
      <label className="field">
        <span>From</span>
        <input type="datetime-local" required value={tap.from} onChange={(e) => onChange({ ...tap, from: e.target.value })} aria-label={`Tap ${n} from`} />
      </label>
      {onRemove && (
        <div className="field tap-remove">
          <button type="button" className="btn btn-small" onClick={onRemove}>
            Remove<span className="visually-hidden"> tap {n}</span>
          </button>
        </div>
      )}
    </fieldset>
  );
}

function AliasEditor({ alias, onSaved, onCancel }: { alias: Alias | null; onSaved(a: Alias): void; onCancel?(): void }) {
  const { client } = useSession();
  const { projects } = useProjects();
  const devices = useDeviceChoices();
  const [name, setName] = useState(alias?.name ?? '');
  const [unit, setUnit] = useState(alias?.unit ?? '');
  const [description, setDescription] = useState(alias?.description ?? '');
  const [projectId, setProjectId] = useState(alias?.projectId ?? '');
  const [taps, setTaps] = useState<TapForm[]>(() =>
    alias
      ? alias.taps.map((t) => ({ deviceId: t.deviceId ?? '', key: t.key, from: toDateTimeLocal(Date.parse(t.from)) }))
      : [{ deviceId: '', key: '', from: toDateTimeLocal(Date.now() - 30 * 86_400_000) }],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const starts = taps.map((t) => fromDateTimeLocal(t.from));
    if (starts.some((s) => Number.isNaN(s))) return setError('Every tap needs a start.');
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: name.trim(),
        unit: unit.trim() || null,
        description: description.trim(),
        projectId: projectId || null,
        taps: taps.map((t, i) => ({ deviceId: t.deviceId, key: t.key.trim(), from: new Date(starts[i]!).toISOString() })),
      };
      onSaved(alias ? await updateAlias(client, alias.id, body) : await createAlias(client, body));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={alias ? 'Edit alias' : 'Alias'} id="alias-form">
      <form className="form" aria-label={alias ? `Edit alias ${alias.name}` : 'New alias'} onSubmit={(e) => void submit(e)}>
        {error && (
          <p className="notice notice-error" role="alert" data-testid="alias-error">
            {error}
          </p>
        )}
        <div className="form-grid">
          <label className="field">
            <span>Name</span>
            <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} autoFocus={!alias} placeholder="site-1 temperature" />
          </label>
          <label className="field">
            <span>Unit</span>
            <input maxLength={32} value={unit} onChange={(e) => setUnit(e.target.value)} placeholder="°C" />
          </label>
          <label className="field">
            <span>Project</span>
            <select value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              <option value="">No project</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label className="field">
          <span>Description</span>
          <textarea className="prose" rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <fieldset className="field taps">
          <legend>Taps</legend>
          <p className="muted small">Each tap feeds the alias from its start until the next tap starts; the last one runs on. Times in {timeZoneLabel()}.</p>
          {taps.map((t, i) => (
            <TapRow
              key={i}
              index={i}
              tap={t}
              devices={devices}
              onChange={(next) => setTaps((list) => list.map((x, j) => (j === i ? next : x)))}
              onRemove={taps.length > 1 ? () => setTaps((list) => list.filter((_, j) => j !== i)) : undefined}
            />
          ))}
          <div>
            <button
              type="button"
              className="btn btn-small"
              onClick={() => setTaps((list) => [...list, { deviceId: '', key: list[list.length - 1]?.key ?? '', from: toDateTimeLocal(Date.now()) }])}
            >
              Add tap
            </button>
          </div>
        </fieldset>
        <div className="form-actions">
          {onCancel && (
            <button type="button" className="btn" onClick={onCancel}>
              Cancel
            </button>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            {busy ? 'Saving…' : alias ? 'Save changes' : 'Create alias'}
          </button>
        </div>
      </form>
    </Section>
  );
}

function TapTable({ alias }: { alias: Alias }) {
  return (
    <Section title="Taps" id="alias-taps">
      <div className="table-wrap">
        <table className="table table-stack" aria-label="Taps">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Key</th>
              <th scope="col">From</th>
              <th scope="col">Until</th>
            </tr>
          </thead>
          <tbody>
            {alias.taps.map((t) => (
              <tr key={t.from}>
                <td data-label="Device">
                  {t.deviceId ? <Link to={`/devices/${t.deviceId}`}>{t.deviceName}</Link> : <span className="muted">deleted device</span>}
                </td>
                <td data-label="Key">
                  <code>{t.key}</code>
                </td>
                <td data-label="From">{formatDateTimeZone(t.from)}</td>
                <td data-label="Until">{t.to ? formatDateTimeZone(t.to) : <span className="muted">now</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

/** The alias's chart: its history read as a device key's, kept live from the tap that feeds it now. */
function AliasChart({ alias }: { alias: Alias }) {
  const { client } = useSession();
  const current = tapAt(alias.taps, Date.now());
  const from = current ? Date.parse(current.from) : Infinity;
  return (
    <HistoryPanel
      source={`${alias.id}:${alias.updatedAt}`}
      title="Chart"
      load={(q) => aliasTelemetry(client, alias.id, q)}
      live={current?.deviceId ? { devices: [current.deviceId], channels: ['telemetry'] } : null}
      livePoints={(e) =>
        e.type === 'telemetry' && current && e.deviceId === current.deviceId
          ? e.points.filter((p) => p.key === current.key && Date.parse(p.ts) >= from).map((p) => ({ ...p, key: alias.name }))
          : null
      }
      unitOf={() => alias.unit}
      rangeOf={() => null}
      empty="The tapped devices sent no numbers in this range."
    />
  );
}

function AliasView({ alias, onChange }: { alias: Alias; onChange(a: Alias): void }) {
  const { client, can } = useSession();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  return (
    <>
      <PageHeader
        title={alias.name}
        subtitle={
          <>
            {alias.unit && <span>In {alias.unit}. </span>}
            {alias.description}
          </>
        }
        actions={
          can.editDevices &&
          !editing && (
            <>
              <button type="button" className="btn" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
                Delete alias
              </button>
            </>
          )
        }
      />
      {editing ? (
        <AliasEditor
          alias={alias}
          onCancel={() => setEditing(false)}
          onSaved={(a) => {
            setEditing(false);
            onChange(a);
          }}
        />
      ) : (
        <TapTable alias={alias} />
      )}
      <AliasChart alias={alias} />
      <ConfirmDialog
        open={deleting}
        title={`Delete alias “${alias.name}”?`}
        confirmLabel="Delete alias"
        onConfirm={async () => {
          await deleteAlias(client, alias.id);
          navigate('/aliases');
        }}
        onClose={() => setDeleting(false)}
      >
        <p>Only the alias goes: the devices keep their data.</p>
      </ConfirmDialog>
    </>
  );
}

/** /aliases/new (id null) and /aliases/:id. */
export function AliasPage({ id }: { id: string | null }) {
  const { client } = useSession();
  const state = useAsync(async () => (id ? getAlias(client, id) : null), [client, id]);
  usePageTitle(id ? (state.data?.name ?? 'Alias') : 'New alias');
  const { setData } = state;
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/aliases">Stream aliases</Link> /
      </nav>
      {id === null ? (
        <>
          <PageHeader title="New alias" subtitle="One stream from several devices’ keys, each over its own stretch of time." />
          <AliasEditor alias={null} onSaved={(a) => navigate(`/aliases/${a.id}`)} />
        </>
      ) : (
        <Async state={state} loadingLabel="Loading alias…">
          {(alias) => alias && <AliasView alias={alias} onChange={(a) => setData(a)} />}
        </Async>
      )}
    </>
  );
}
