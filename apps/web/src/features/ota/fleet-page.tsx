import { useState, type FormEvent } from 'react';
import { ApiError, type Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { useDebounced } from '../../lib/use-debounced';
import { Link, navigate } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { OnlineBadge, Tags } from '../../components/ui/badges';
import { ConfirmDialog } from '../../components/ui/dialog';
import { Async, EmptyState, ErrorNotice, Loading, describeError } from '../../components/ui/state-views';
import { useProjects } from '../devices/use-projects';
import { useTemplates } from '../devices/device-template';
import {
  changeFleetMembers,
  createFleet,
  deleteFleet,
  emptySelectorForm,
  fleetDevices,
  formToSelector,
  getFleet,
  previewFleet,
  selectorToForm,
  updateFleet,
  type Fleet,
  type FleetMember,
  type SelectorForm,
} from './fleets';

const PREVIEW_LIMIT = 10;
const MEMBERS_LIMIT = 500;

const asMember = (d: Device): FleetMember => ({
  id: d.id,
  name: d.name,
  projectId: d.projectId,
  templateId: d.templateId,
  tags: d.tags,
  firmwareVersion: d.firmwareVersion,
  online: d.status.online,
});

/** Devices as a fleet sees them: name, reported firmware, online now, tags; optionally a Remove button each. */
function MemberTable({ members, label, onRemove, busy }: { members: FleetMember[]; label: string; onRemove?(m: FleetMember): void; busy?: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table table-stack member-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Firmware</th>
            <th scope="col">Status</th>
            <th scope="col">Tags</th>
            {onRemove && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.id} data-device-id={m.id}>
              <td data-label="Device">
                <Link to={`/devices/${m.id}`}>{m.name}</Link>
              </td>
              <td data-label="Firmware">{m.firmwareVersion ? <code>{m.firmwareVersion}</code> : <span className="muted">not reported</span>}</td>
              <td data-label="Status">
                <OnlineBadge online={m.online} />
              </td>
              <td data-label="Tags">
                <Tags tags={m.tags} />
              </td>
              {onRemove && (
                <td data-label="Actions">
                  <button type="button" className="btn btn-small" disabled={busy} onClick={() => onRemove(m)}>
                    Remove<span className="visually-hidden"> {m.name}</span>
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What the selector matches now, asked again a moment after each change. */
function SelectorPreview({ form }: { form: SelectorForm }) {
  const { client } = useSession();
  const selector = formToSelector(form);
  const key = JSON.stringify(selector);
  const asked = useDebounced(key, 400);
  const preview = useAsync(async () => {
    const s = JSON.parse(asked) as ReturnType<typeof formToSelector>;
    return s ? previewFleet(client, s, PREVIEW_LIMIT) : null;
  }, [client, asked]);
  const settling = key !== asked || preview.loading;

  return (
    <Section title="Matching devices" id="fleet-preview" className="fleet-preview">
      <div aria-live="polite" aria-busy={settling} data-testid="fleet-preview" data-settled={!settling}>
        {!selector ? (
          <EmptyState title="No criterion yet">
            <p>Choose a project, a template, tags or a firmware range: the devices they match show here.</p>
          </EmptyState>
        ) : preview.error ? (
          <p className="notice notice-error" role="alert" data-testid="fleet-preview-error">
            {describeError(preview.error)}
          </p>
        ) : !preview.data ? (
          <Loading label="Finding devices…" />
        ) : (
          <>
            <p className="preview-total">
              <strong data-testid="fleet-preview-total">{preview.data.total}</strong> {preview.data.total === 1 ? 'device matches' : 'devices match'} now
              {settling && <span className="spinner spinner-inline" aria-hidden="true" />}
            </p>
            {preview.data.items.length > 0 && <MemberTable members={preview.data.items} label="Matching devices" />}
            {preview.data.total > preview.data.items.length && (
              <p className="muted small">
                The first {preview.data.items.length} of {preview.data.total}. A deployment takes the devices that match when it starts.
              </p>
            )}
          </>
        )}
      </div>
    </Section>
  );
}

/** A device search with Add buttons, for static fleets. */
function DevicePicker({ members, onAdd, busy }: { members: Set<string>; onAdd(d: Device): void; busy: boolean }) {
  const { client } = useSession();
  const [q, setQ] = useState('');
  const asked = useDebounced(q.trim(), 300);
  const found = useAsync(() => client.devices.list({ q: asked || undefined, limit: 8 }), [client, asked]);
  const choices = (found.data?.items ?? []).filter((d) => !members.has(d.id));
  return (
    <div className="device-picker">
      <label className="field">
        <span>Add devices</span>
        <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search by name" />
      </label>
      {found.error ? (
        <ErrorNotice error={found.error} onRetry={found.reload} />
      ) : (
        <ul className="list picker-results" aria-label="Devices to add" aria-busy={found.loading}>
          {choices.map((d) => (
            <li key={d.id} className="list-row">
              <span>
                {d.name} <span className="muted small">{d.firmwareVersion ?? 'no firmware reported'}</span>
              </span>
              <button type="button" className="btn btn-small" disabled={busy} onClick={() => onAdd(d)}>
                Add<span className="visually-hidden"> {d.name}</span>
              </button>
            </li>
          ))}
          {found.data && choices.length === 0 && <li className="muted small">No other device matches.</li>}
        </ul>
      )}
    </div>
  );
}

/** A static fleet's members: changed at once on a saved fleet, kept here until a new one is created. */
function StaticMembers({ fleet, staged, onStage }: { fleet: Fleet | null; staged: FleetMember[]; onStage(m: FleetMember[]): void }) {
  const { client, can } = useSession();
  const members = useAsync(async () => (fleet ? fleetDevices(client, fleet.id, MEMBERS_LIMIT) : null), [client, fleet?.id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const list = fleet ? (members.data?.items ?? []) : staged;
  const total = fleet ? (members.data?.total ?? 0) : staged.length;

  const change = async (c: { add?: string[]; remove?: string[] }) => {
    if (!fleet) return;
    setBusy(true);
    setError(null);
    try {
      await changeFleetMembers(client, fleet.id, c);
      members.reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const add = (d: Device) => (fleet ? void change({ add: [d.id] }) : onStage([...staged, asMember(d)]));
  const remove = (m: FleetMember) => (fleet ? void change({ remove: [m.id] }) : onStage(staged.filter((s) => s.id !== m.id)));

  return (
    <Section title={`Devices (${total})`} id="fleet-members">
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {fleet && !members.data ? (
        <Async state={members}>{() => null}</Async>
      ) : list.length === 0 ? (
        <EmptyState title="No devices in this fleet">
          <p>{can.manageFleets ? 'Add devices below.' : 'Operators add devices.'}</p>
        </EmptyState>
      ) : (
        <>
          <MemberTable members={list} label="Fleet devices" onRemove={can.manageFleets ? remove : undefined} busy={busy} />
          {total > list.length && (
            <p className="muted small">
              The first {list.length} of {total}.
            </p>
          )}
        </>
      )}
      {can.manageFleets && <DevicePicker members={new Set(list.map((m) => m.id))} onAdd={add} busy={busy} />}
    </Section>
  );
}

function FleetEditor({ fleet, onSaved }: { fleet: Fleet | null; onSaved(f: Fleet): void }) {
  const { client, can } = useSession();
  const { projects } = useProjects();
  const { templates } = useTemplates();
  const [name, setName] = useState(fleet?.name ?? '');
  const [description, setDescription] = useState(fleet?.description ?? '');
  const [kind, setKind] = useState<Fleet['kind']>(fleet?.kind ?? 'selector');
  const [sel, setSel] = useState<SelectorForm>(() => (fleet ? selectorToForm(fleet.selector) : emptySelectorForm()));
  const [staged, setStaged] = useState<FleetMember[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const set = (patch: Partial<SelectorForm>) => {
    setSel((s) => ({ ...s, ...patch }));
    setSaved(false);
  };

  const selector = formToSelector(sel);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (kind === 'selector' && !selector) return setError('Choose at least one criterion.');
    setBusy(true);
    setError(null);
    try {
      const common = { name: name.trim(), description: description.trim() };
      const f = fleet
        ? await updateFleet(client, fleet.id, kind === 'selector' ? { ...common, selector: selector! } : common)
        : await createFleet(client, kind === 'selector' ? { ...common, kind, selector: selector! } : { ...common, kind, deviceIds: staged.map((m) => m.id) });
      setSaved(true);
      onSaved(f);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/fleets">Fleets</Link> /
      </nav>
      <PageHeader
        title={fleet ? fleet.name : 'New fleet'}
        subtitle={
          fleet
            ? fleet.kind === 'selector'
              ? 'Selector fleet: every device matching it when a deployment starts.'
              : 'Static fleet: the devices listed.'
            : undefined
        }
        actions={
          fleet && (
            <>
              {can.deploy && (
                <Link className="btn btn-primary" to={`/deployments/new?fleetId=${fleet.id}`}>
                  Deploy to this fleet
                </Link>
              )}
              {can.manageFleets && (
                <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
                  Delete fleet
                </button>
              )}
            </>
          )
        }
      />
      <div className="fleet-layout">
        <Section title="Fleet" id="fleet-form">
          <form className="form" aria-label={fleet ? `Edit fleet ${fleet.name}` : 'New fleet'} onSubmit={(e) => void submit(e)}>
            {error && (
              <p className="notice notice-error" role="alert" data-testid="fleet-error">
                {error}
              </p>
            )}
            <fieldset className="form" disabled={!can.manageFleets}>
              <label className="field">
                <span>Name</span>
                <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} autoFocus={!fleet} />
              </label>
              <label className="field">
                <span>Description</span>
                <textarea className="prose" rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
              </label>
              {!fleet && (
                <fieldset className="field">
                  <legend>Kind</legend>
                  <div className="checks">
                    <label className="check">
                      <input type="radio" name="fleet-kind" checked={kind === 'selector'} onChange={() => setKind('selector')} />
                      Selector: every device matching criteria
                    </label>
                    <label className="check">
                      <input type="radio" name="fleet-kind" checked={kind === 'static'} onChange={() => setKind('static')} />
                      Static: devices listed by hand
                    </label>
                  </div>
                </fieldset>
              )}
              {kind === 'selector' && (
                <fieldset className="form-grid selector-fields">
                  <legend className="visually-hidden">Selector</legend>
                  <label className="field">
                    <span>Project</span>
                    <select value={sel.projectId} onChange={(e) => set({ projectId: e.target.value })}>
                      <option value="">Any project</option>
                      {projects.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.name}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label className="field">
                    <span>Template</span>
                    <select value={sel.templateId} onChange={(e) => set({ templateId: e.target.value })}>
                      <option value="">Any template</option>
                      {templates.map((t) => (
                        <option key={t.id} value={t.id}>
                          {t.name}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label className="field">
                    <span>Tags</span>
                    <input
                      value={sel.tags}
                      onChange={(e) => set({ tags: e.target.value })}
                      placeholder="e.g. basement, eu"
                      aria-describedby="fleet-tags-help"
                    />
                    <small id="fleet-tags-help" className="muted">
                      Comma-separated; a device needs every one.
                    </small>
                  </label>
                  <label className="field">
                    <span>Firmware version</span>
                    <input
                      value={sel.firmware}
                      onChange={(e) => set({ firmware: e.target.value })}
                      placeholder="<2.0.0"
                      spellCheck={false}
                      className="mono"
                      aria-describedby="fleet-fw-help"
                    />
                    <small id="fleet-fw-help" className="muted">
                      A semver range over the reported version, like &lt;2.0.0 or &gt;=1.2 &lt;1.4. Devices reporting none never match.
                    </small>
                  </label>
                </fieldset>
              )}
            </fieldset>
            {can.manageFleets && (
              <div className="form-actions">
                {saved && (
                  <span className="muted small" role="status">
                    Saved.
                  </span>
                )}
                <button type="submit" className="btn btn-primary" disabled={busy || !name.trim() || (kind === 'selector' && !selector)}>
                  {busy ? 'Saving…' : fleet ? 'Save changes' : 'Create fleet'}
                </button>
              </div>
            )}
          </form>
        </Section>
        {kind === 'selector' ? <SelectorPreview form={sel} /> : <StaticMembers fleet={fleet} staged={staged} onStage={setStaged} />}
      </div>
      <ConfirmDialog
        open={deleting}
        title={`Delete fleet “${fleet?.name ?? ''}”?`}
        confirmLabel="Delete fleet"
        onConfirm={async () => {
          await deleteFleet(client, fleet!.id);
          navigate('/fleets');
        }}
        onClose={() => setDeleting(false)}
      >
        <p>Its devices stay as they are. Deployments made for it go on, with the devices they took when they started.</p>
      </ConfirmDialog>
    </>
  );
}

/** A fleet's page (`/fleets/:id`), or a new one (`/fleets/new`). */
export function FleetPage({ id }: { id: string | null }) {
  const { client } = useSession();
  const state = useAsync(async () => (id ? getFleet(client, id) : null), [client, id]);
  usePageTitle(id ? (state.data?.name ?? 'Fleet') : 'New fleet');
  if (id && state.error && !state.data) {
    if (state.error instanceof ApiError && (state.error.status === 404 || state.error.status === 400)) {
      return (
        <>
          <PageHeader title="Fleet not found" />
          <EmptyState title="There is no such fleet in this org">
            <p>
              It may have been deleted. <Link to="/fleets">Back to fleets</Link>
            </p>
          </EmptyState>
        </>
      );
    }
    return <ErrorNotice error={state.error} onRetry={state.reload} />;
  }
  if (id && !state.data) return <Loading label="Loading fleet…" />;
  return (
    <FleetEditor
      key={state.data?.id ?? 'new'}
      fleet={state.data ?? null}
      onSaved={(f) => {
        if (!id) navigate(`/fleets/${f.id}`, { replace: true });
        else state.setData(f);
      }}
    />
  );
}
