import { useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { navigate } from '../../lib/router';
import { Section } from '../../components/ui/page';
import { Dialog } from '../../components/ui/dialog';
import { describeError } from '../../components/ui/state-views';
import { DeviceCredentials } from './device-credentials';

/** Credential rotation and deletion: admin only, and not rendered at all below admin. */
export function DeviceAdmin({ device }: { device: Device }) {
  const { client, can } = useSession();
  const [confirm, setConfirm] = useState<'rotate' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [token, setToken] = useState<string | null>(null);

  if (!can.rotateCredentials && !can.deleteDevices) return null;

  const close = () => {
    setConfirm(null);
    setError(null);
    setToken(null);
  };
  const rotate = async () => {
    setBusy(true);
    setError(null);
    try {
      setToken((await client.devices.rotateToken(device.id)).token);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await client.devices.delete(device.id);
      navigate('/devices');
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <Section title="Credentials and removal" id="admin">
      <div className="danger-zone">
        {can.rotateCredentials && (
          <div className="danger-row">
            <div>
              <strong>Rotate the access token</strong>
              <p className="muted small">Issues a new token and revokes the old one at once: connected sessions using it are dropped.</p>
            </div>
            <button type="button" className="btn" onClick={() => setConfirm('rotate')}>
              Rotate token…
            </button>
          </div>
        )}
        {can.deleteDevices && (
          <div className="danger-row">
            <div>
              <strong>Delete this device</strong>
              <p className="muted small">Removes the device, its credentials and its stored data. This cannot be undone.</p>
            </div>
            <button type="button" className="btn btn-danger" onClick={() => setConfirm('delete')}>
              Delete device…
            </button>
          </div>
        )}
      </div>
      <Dialog
        open={confirm !== null}
        title={confirm === 'delete' ? `Delete “${device.name}”?` : token ? 'New access token' : `Rotate the token of “${device.name}”?`}
        onClose={close}
        wide={token !== null}
      >
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        {confirm === 'rotate' && token ? (
          <>
            <DeviceCredentials deviceId={device.id} token={token} />
            <div className="form-actions">
              <button type="button" className="btn btn-primary" onClick={close}>
                Done
              </button>
            </div>
          </>
        ) : (
          <>
            <p>
              {confirm === 'delete'
                ? 'The device and all its data will be deleted. Devices using its token will be disconnected.'
                : 'The current token stops working immediately. Update the device with the new one.'}
            </p>
            <div className="form-actions">
              <button type="button" className="btn" onClick={close} autoFocus>
                Cancel
              </button>
              <button
                type="button"
                className={confirm === 'delete' ? 'btn btn-danger' : 'btn btn-primary'}
                disabled={busy}
                onClick={confirm === 'delete' ? remove : rotate}
              >
                {busy ? 'Working…' : confirm === 'delete' ? 'Delete device' : 'Rotate token'}
              </button>
            </div>
          </>
        )}
      </Dialog>
    </Section>
  );
}
