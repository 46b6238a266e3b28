import { useState, type FormEvent } from 'react';
import type { Device, Project } from '@tether/api-client';
import { useSession } from '../../app/session';
import { Dialog } from '../../components/ui/dialog';
import { describeError } from '../../components/ui/state-views';
import { Link } from '../../lib/router';
import { DeviceCredentials } from './device-credentials';
import { parseTags } from './device-fields';
import { useAsync } from '../../lib/use-async';
import { listTemplates } from './device-template';

export function CreateDeviceDialog({
  open,
  onClose,
  projects,
  defaultProjectId,
}: {
  open: boolean;
  onClose(created: boolean): void;
  projects: Project[];
  defaultProjectId?: string;
}) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [projectId, setProjectId] = useState(defaultProjectId ?? '');
  const [type, setType] = useState('');
  const [templateId, setTemplateId] = useState('');
  // Templates are offered only when the org has some.
  const templates = useAsync(async () => (open ? (await listTemplates(client)).items : []), [client, open]);
  const [tags, setTags] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<(Device & { token: string }) | null>(null);

  const reset = () => {
    setName('');
    setType('');
    setTemplateId('');
    setTags('');
    setError(null);
    setCreated(null);
  };
  const close = () => {
    const was = created !== null;
    reset();
    onClose(was);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(
        await client.devices.create({
          name: name.trim(),
          projectId: projectId || null,
          templateId: templateId || null,
          type: type.trim() || undefined,
          tags: parseTags(tags),
        }),
      );
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} title={created ? `Device “${created.name}” created` : 'Create a device'} onClose={close} wide={created !== null}>
      {created ? (
        <>
          <DeviceCredentials deviceId={created.id} token={created.token} />
          <div className="form-actions">
            <button type="button" className="btn" onClick={reset}>
              Create another
            </button>
            <Link to={`/devices/${created.id}`} className="btn btn-primary" onClick={close}>
              Open the device page
            </Link>
          </div>
        </>
      ) : (
        <form onSubmit={submit} className="form">
          {error && (
            <p className="notice notice-error" role="alert">
              {error}
            </p>
          )}
          <label className="field">
            <span>Name</span>
            <input name="name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="boiler-1" autoFocus />
          </label>
          <label className="field">
            <span>Project</span>
            <select name="projectId" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              <option value="">No project</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          {templates.data && templates.data.length > 0 && (
            <div className="field">
              <label htmlFor="create-device-template">Template</label>
              <select
                id="create-device-template"
                name="templateId"
                value={templateId}
                onChange={(e) => setTemplateId(e.target.value)}
                aria-describedby="template-help"
              >
                <option value="">No template</option>
                {templates.data.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
              <small id="template-help" className="muted">
                The template names the device&apos;s telemetry units and ranges, and the commands it accepts.
              </small>
            </div>
          )}
          <label className="field">
            <span>Type</span>
            <input name="type" maxLength={200} value={type} onChange={(e) => setType(e.target.value)} placeholder="boiler" />
          </label>
          <label className="field">
            <span>Tags</span>
            <input name="tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="basement, floor-2" aria-describedby="tags-help" />
            <small id="tags-help" className="muted">
              Comma-separated.
            </small>
          </label>
          <div className="form-actions">
            <button type="button" className="btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
              {busy ? 'Creating…' : 'Create device'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
