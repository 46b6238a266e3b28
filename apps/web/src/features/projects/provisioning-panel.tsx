import { useState } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { CopyBlock } from '../../components/ui/copy-block';
import { Async, describeError } from '../../components/ui/state-views';

/**
 * The project's provisioning key (README, Provisioning): devices that carry key
 * and secret register themselves here. Admins create, rotate and disable it;
 * the secret is shown once, after a create or rotation.
 */
export function ProvisioningPanel({ projectId }: { projectId: string }) {
  const { client, can } = useSession();
  const state = useAsync(() => client.projects.provisioning(projectId), [client, projectId]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const put = () =>
    run(async () => {
      if (state.data && !window.confirm('Rotate the key and secret? Devices holding the old ones can no longer provision or sign in by IMEI.')) return;
      const { secret: s, ...key } = await client.projects.putProvisioning(projectId);
      state.setData(key);
      setSecret(s);
    });
  const update = (patch: { enabled?: boolean; allowReprovision?: boolean }) =>
    run(async () => state.setData(await client.projects.updateProvisioning(projectId, patch)));

  return (
    <Section title="Device provisioning" id="provisioning">
      <Async state={state} loadingLabel="Loading provisioning key…">
        {(key) => (
          <div data-testid="provisioning-panel">
            {error && (
              <p className="notice notice-error" role="alert">
                {error}
              </p>
            )}
            {!key ? (
              <p className="muted">
                No provisioning key. With one, devices register themselves in this project with their serial or IMEI (POST /api/v1/provision, or MQTT user{' '}
                <code>provision</code>).
              </p>
            ) : (
              <>
                <CopyBlock label="Provisioning key (provisionDeviceKey)" value={key.key} testId="provisioning-key" />
                <p className="small">
                  {key.enabled ? 'Enabled' : <strong>Disabled: requests with this key are refused</strong>} · a second request for a serial{' '}
                  {key.allowReprovision ? 'gets a new token (the old one is revoked)' : 'is refused'} · rotated {new Date(key.rotatedAt).toLocaleString()}
                </p>
              </>
            )}
            {secret && (
              <>
                <p className="notice notice-warning" role="note">
                  <strong>Copy the secret now.</strong> It is shown only this once; Tether keeps only a hash of it.
                </p>
                <CopyBlock label="Provisioning secret (provisionDeviceSecret)" value={secret} testId="provisioning-secret" />
              </>
            )}
            {can.manageProjects && (
              <div className="form-actions">
                <button type="button" className="btn btn-small" disabled={busy} onClick={put}>
                  {key ? 'Rotate key and secret…' : 'Create provisioning key'}
                </button>
                {key && (
                  <>
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => update({ enabled: !key.enabled })}>
                      {key.enabled ? 'Disable' : 'Enable'}
                    </button>
                    <label className="checkbox">
                      <input type="checkbox" checked={key.allowReprovision} disabled={busy} onChange={(e) => update({ allowReprovision: e.target.checked })} />{' '}
                      Allow re-provisioning
                    </label>
                  </>
                )}
              </div>
            )}
          </div>
        )}
      </Async>
    </Section>
  );
}
