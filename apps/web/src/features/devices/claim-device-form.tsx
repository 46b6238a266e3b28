import { useState, type FormEvent } from 'react';
import type { Device, Project } from '@tether/api-client';
import { useSession } from '../../app/session';
import { Link } from '../../lib/router';
import { describeError } from '../../components/ui/state-views';

/** Seed 004: the code printed on a device's label puts that unclaimed device in one of the org's projects. */
export function ClaimDeviceForm({ projects, onClaimed }: { projects: Project[]; onClaimed(device: Device): void }) {
  const { client } = useSession();
  const [code, setCode] = useState('');
  const [projectId, setProjectId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [claimed, setClaimed] = useState<Device | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const device = await client.devices.claim({ code: code.trim(), projectId });
      setClaimed(device);
      setCode('');
      onClaimed(device);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="card property-search" data-testid="claim-panel">
      <summary>
        <h2 id="claim-title">Claim a device</h2>
      </summary>
      <form className="filters" aria-labelledby="claim-title" onSubmit={submit} data-testid="claim-form">
        <label className="field">
          <span>Claim code</span>
          <input name="code" value={code} onChange={(e) => setCode(e.target.value)} placeholder="XXXX-XXXX-XXXX" autoComplete="off" required maxLength={64} />
        </label>
        <label className="field">
          <span>Claim into</span>
          <select name="claimProjectId" value={projectId} onChange={(e) => setProjectId(e.target.value)} required>
            <option value="">Choose…</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span aria-hidden="true">&nbsp;</span>
          <button type="submit" className="btn btn-primary" disabled={busy || !code.trim() || !projectId}>
            Claim device
          </button>
        </div>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        {claimed && !error && (
          <p className="notice" role="status">
            Claimed <Link to={`/devices/${claimed.id}`}>{claimed.name}</Link>.
          </p>
        )}
      </form>
    </details>
  );
}
