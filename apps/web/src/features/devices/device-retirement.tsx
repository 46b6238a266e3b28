import { useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { formatDateTimeZone } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { describeError } from '../../components/ui/state-views';

/**
 * Retirement (fleet health): a retired device's lifespan ended when an operator
 * said so, and it leaves the silent share. Viewers only see that it is retired.
 */
export function DeviceRetirement({ device, onChanged }: { device: Device; onChanged(d: Device): void }) {
  const { client, can } = useSession();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const retired = device.retired;
  if (!retired && !can.retireDevices) return null;

  const run = async (act: () => Promise<Device>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await act());
      setReason('');
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Retirement" id="retirement">
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {retired ? (
        <div className="danger-row">
          <p data-testid="retired-note">
            <strong>Retired</strong> {formatDateTimeZone(retired.at)}: {retired.reason}
            <br />
            <span className="muted small">Its lifespan ended then; fleet health no longer counts it as silent. Its data is kept.</span>
          </p>
          {can.retireDevices && (
            <button type="button" className="btn" disabled={busy} onClick={() => void run(() => client.devices.unretire(device.id))}>
              {busy ? 'Working…' : 'Unretire'}
            </button>
          )}
        </div>
      ) : (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (reason.trim()) void run(() => client.devices.retire(device.id, reason.trim()));
          }}
        >
          <p className="muted small">
            Retire a device taken out of service: its lifespan ends now and fleet health stops counting it as silent. It keeps its data; you can undo this.
          </p>
          <div className="inline-form-fields">
            <label className="field field-grow">
              <span>Reason</span>
              <input
                name="reason"
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                placeholder="e.g. battery failed, replaced"
                maxLength={500}
                required
              />
            </label>
            <button type="submit" className="btn" disabled={busy || !reason.trim()}>
              {busy ? 'Working…' : 'Retire device'}
            </button>
          </div>
        </form>
      )}
    </Section>
  );
}
