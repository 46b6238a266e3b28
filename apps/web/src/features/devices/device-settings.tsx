import { useEffect, useState, type FormEvent } from 'react';
import type { Device, Project } from '@tether/api-client';
import { useSession } from '../../app/session';
import { Section } from '../../components/ui/page';
import { Tags } from '../../components/ui/badges';
import { describeError } from '../../components/ui/state-views';
import { parseMetadata, parseTags } from './device-fields';

/** Name, project, type, tags and metadata: editable from the operator role up, read-only below. */
export function DeviceSettings({ device, projects, onSaved }: { device: Device; projects: Project[]; onSaved(d: Device): void }) {
  const { client, can, role } = useSession();
  const initial = () => ({
    name: device.name,
    projectId: device.projectId ?? '',
    type: device.type,
    tags: device.tags.join(', '),
    metadata: Object.keys(device.metadata).length ? JSON.stringify(device.metadata, null, 2) : '',
  });
  const [form, setForm] = useState(initial);
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' | 'saved' } | { kind: 'error'; message: string }>({ kind: 'idle' });
  useEffect(() => setForm(initial()), [device.updatedAt]);

  const meta = parseMetadata(form.metadata);
  const set = (k: keyof ReturnType<typeof initial>) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    setStatus({ kind: 'idle' });
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!meta.ok) return;
    setStatus({ kind: 'saving' });
    try {
      const saved = await client.devices.update(device.id, {
        name: form.name.trim(),
        projectId: form.projectId || null,
        type: form.type.trim(),
        tags: parseTags(form.tags),
        metadata: meta.value,
      });
      onSaved(saved);
      setStatus({ kind: 'saved' });
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  if (!can.editDevices) {
    return (
      <Section title="Details" id="settings">
        <dl className="props">
          <dt>Name</dt>
          <dd>{device.name}</dd>
          <dt>Project</dt>
          <dd>{projects.find((p) => p.id === device.projectId)?.name ?? '—'}</dd>
          <dt>Type</dt>
          <dd>{device.type || '—'}</dd>
          <dt>Tags</dt>
          <dd>
            <Tags tags={device.tags} />
          </dd>
          <dt>Metadata</dt>
          <dd>{Object.keys(device.metadata).length ? <pre className="code">{JSON.stringify(device.metadata, null, 2)}</pre> : '—'}</dd>
        </dl>
        <p className="muted small" data-testid="read-only-note">
          You have the {role} role: you can view this device but not change it.
        </p>
      </Section>
    );
  }

  return (
    <Section title="Details" id="settings">
      <form className="form form-grid" onSubmit={save}>
        <label className="field">
          <span>Name</span>
          <input name="name" required maxLength={200} value={form.name} onChange={set('name')} />
        </label>
        <label className="field">
          <span>Project</span>
          <select name="projectId" value={form.projectId} onChange={set('projectId')}>
            <option value="">No project</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Type</span>
          <input name="type" maxLength={200} value={form.type} onChange={set('type')} />
        </label>
        <label className="field">
          <span>Tags</span>
          <input name="tags" value={form.tags} onChange={set('tags')} aria-describedby="settings-tags-help" />
          <small id="settings-tags-help" className="muted">
            Comma-separated.
          </small>
        </label>
        <label className="field field-wide">
          <span>Metadata (JSON object)</span>
          <textarea
            name="metadata"
            rows={5}
            value={form.metadata}
            onChange={set('metadata')}
            spellCheck={false}
            aria-invalid={!meta.ok}
            aria-describedby="settings-metadata-help"
            placeholder={'{"room": "basement", "units": {"temperature": "°C"}}'}
          />
          <small id="settings-metadata-help" className={meta.ok ? 'muted' : 'field-error'}>
            {meta.ok ? 'A "units" object sets the unit of each key on the charts.' : meta.error}
          </small>
        </label>
        <div className="form-actions field-wide">
          <span aria-live="polite" className={status.kind === 'error' ? 'field-error' : 'muted'}>
            {status.kind === 'saved' ? 'Saved.' : status.kind === 'error' ? status.message : ''}
          </span>
          <button type="submit" className="btn btn-primary" disabled={!meta.ok || status.kind === 'saving'}>
            {status.kind === 'saving' ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </form>
    </Section>
  );
}
