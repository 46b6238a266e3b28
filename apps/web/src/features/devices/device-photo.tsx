import { useEffect, useId, useState, type ChangeEvent } from 'react';
import { ApiError, type Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { describeError } from '../../components/ui/state-views';
import { PHOTO_TYPES, photoProblem } from './photo-file';

/**
 * The device's photo, fetched with the session's token (an <img src> could not
 * send it) and shown from an object URL; operators and above upload or remove it.
 */
export function DevicePhoto({ device, onChanged }: { device: Device; onChanged(): void }) {
  const { client, can } = useSession();
  const inputId = useId();
  const photo = useAsync(
    async () => (device.photoUrl ? (await client.binary('GET', device.photoUrl)).blob() : null),
    [client, device.photoUrl, device.updatedAt],
  );
  const [src, setSrc] = useState<string | null>(null);
  const [status, setStatus] = useState<{ kind: 'idle' | 'busy' } | { kind: 'error'; message: string }>({ kind: 'idle' });

  useEffect(() => {
    if (!photo.data) return setSrc(null);
    const url = URL.createObjectURL(photo.data);
    setSrc(url);
    return () => URL.revokeObjectURL(url);
  }, [photo.data]);

  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const problem = photoProblem(file);
    if (problem) return setStatus({ kind: 'error', message: problem });
    setStatus({ kind: 'busy' });
    try {
      await client.binary('PUT', `/api/v1/devices/${device.id}/photo`, file);
      setStatus({ kind: 'idle' });
      onChanged();
    } catch (err) {
      // The server's 413 names its general body limit, not the photo limit: say what applies here.
      const message = err instanceof ApiError && err.status === 413 ? 'The server refused the image as too large; the limit is 5 MB.' : describeError(err);
      setStatus({ kind: 'error', message });
    }
  };

  const remove = async () => {
    setStatus({ kind: 'busy' });
    try {
      await client.request<void>('DELETE', `/api/v1/devices/${device.id}/photo`);
      setStatus({ kind: 'idle' });
      onChanged();
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  const has = Boolean(device.photoUrl);
  return (
    <div className="device-photo">
      {has ? (
        <figure className="photo-frame" aria-busy={photo.loading}>
          {src ? (
            <img src={src} alt={`Photo of ${device.name}`} data-testid="device-photo" />
          ) : photo.error ? (
            <p className="field-error">{describeError(photo.error)}</p>
          ) : (
            <span className="muted small">Loading photo…</span>
          )}
        </figure>
      ) : (
        <div className="photo-frame photo-empty muted small">No photo</div>
      )}
      {can.editMetadata && (
        <div className="photo-actions">
          <label className="btn btn-small file-button" htmlFor={inputId}>
            {status.kind === 'busy' ? 'Uploading…' : has ? 'Replace photo' : 'Upload photo'}
          </label>
          <input
            id={inputId}
            className="file-input"
            type="file"
            accept={PHOTO_TYPES.join(',')}
            onChange={upload}
            disabled={status.kind === 'busy'}
            aria-describedby={`${inputId}-help`}
          />
          {has && (
            <button type="button" className="btn btn-small btn-ghost" onClick={remove} disabled={status.kind === 'busy'}>
              Remove photo
            </button>
          )}
          <small id={`${inputId}-help`} className="muted">
            PNG, JPEG, WebP or GIF, up to 5 MB.
          </small>
          <span role="alert" className="field-error" data-testid="photo-error">
            {status.kind === 'error' ? status.message : ''}
          </span>
        </div>
      )}
    </div>
  );
}
