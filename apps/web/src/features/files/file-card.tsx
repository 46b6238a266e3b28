/**
 * A device file as a card: a thumbnail (opens large), a player or nothing,
 * then its name, state, type, size and time, a download link and delete.
 * A file an alert named but whose upload has not started is a card too.
 */
import { useState } from 'react';
import type { DeviceFile } from '@tether/api-client';
import { Dialog } from '../../components/ui/dialog';
import { RelativeTime } from '../../components/ui/relative-time';
import { Link } from '../../lib/router';
import { formatBytes } from '../../lib/units';
import { fileKind } from './files';

export function FileStateBadge({ file }: { file: DeviceFile | null }) {
  if (!file)
    return (
      <span className="badge badge-waiting" data-testid="file-state">
        Waiting for upload
      </span>
    );
  if (file.state === 'uploading')
    return (
      <span className="badge badge-warning" data-testid="file-state">
        Uploading…
      </span>
    );
  return (
    <span className="badge badge-online" data-testid="file-state">
      Stored
    </span>
  );
}

/**
 * A stored file's bytes, by kind. The signed url is kept from the first answer:
 * every read signs a new one, and a new `src` would restart a playing video.
 */
function StoredMedia({ file }: { file: DeviceFile & { url: string } }) {
  const [src] = useState(file.url);
  const [open, setOpen] = useState(false);
  const kind = fileKind(file);
  if (kind === 'image')
    return (
      <>
        <button type="button" className="file-thumb" onClick={() => setOpen(true)} aria-label={`Open ${file.name} large`}>
          <img src={src} alt="" loading="lazy" />
        </button>
        <Dialog open={open} title={file.name} onClose={() => setOpen(false)} wide>
          <img className="file-large" src={src} alt={file.name} />
        </Dialog>
      </>
    );
  // The url answers Range requests: the player fetches the metadata first, then what it plays or seeks to.
  if (kind === 'video') return <video className="file-video" src={src} controls preload="metadata" aria-label={file.name} />;
  if (kind === 'audio') return <audio className="file-audio" src={src} controls preload="metadata" aria-label={file.name} />;
  return (
    <div className="file-placeholder" aria-hidden="true">
      <span className="file-ext">{extension(file.name)}</span>
    </div>
  );
}

function extension(name: string): string {
  const i = name.lastIndexOf('.');
  return i > 0 && i < name.length - 1 ? name.slice(i + 1).toUpperCase() : 'FILE';
}

function Placeholder({ file }: { file: DeviceFile | null }) {
  return (
    <div className="file-placeholder">
      {file ? (
        <>
          <span className="spinner" aria-hidden="true" /> Arriving from the device…
        </>
      ) : (
        'Not uploaded yet'
      )}
    </div>
  );
}

export function FileCard({
  name,
  file,
  showDevice = false,
  onDelete,
}: {
  /** The name an alert gave, or the file's own. */
  name: string;
  file: DeviceFile | null;
  showDevice?: boolean;
  onDelete?(file: DeviceFile): void;
}) {
  const stored = file?.state === 'stored' && file.url ? (file as DeviceFile & { url: string }) : null;
  const kind = file ? fileKind(file) : 'other';
  return (
    <li className={`file-card file-kind-${kind}`} data-file-name={name} data-state={file?.state ?? 'waiting'} data-file-id={file?.id}>
      <div className="file-media">{stored ? <StoredMedia key={stored.id} file={stored} /> : <Placeholder file={file} />}</div>
      <div className="file-body">
        <div className="file-title">
          <span className="file-name" title={file?.path}>
            {name}
          </span>
          <FileStateBadge file={file} />
        </div>
        <div className="file-meta muted small" data-testid="file-meta">
          {!file ? (
            'The device named this file; it shows here as soon as its upload starts.'
          ) : (
            <>
              {file.contentType ?? file.declaredType ?? 'type not known yet'}
              {' · '}
              {file.state === 'stored' ? formatBytes(file.size) : `${formatBytes(file.size)} on the way`}
              {' · '}
              <RelativeTime value={file.storedAt ?? file.createdAt} />
            </>
          )}
        </div>
        {showDevice && file && (
          <div className="small">
            <Link to={`/devices/${file.deviceId}`}>{file.deviceName}</Link>
          </div>
        )}
        {(stored || (file && onDelete)) && (
          <div className="file-actions">
            {stored && (
              <a className="btn btn-small" href={stored.url} download={stored.name}>
                Download<span className="visually-hidden"> {name}</span>
              </a>
            )}
            {file && onDelete && (
              <button type="button" className="btn btn-small btn-danger" onClick={() => onDelete(file)}>
                Delete<span className="visually-hidden"> {name}</span>
              </button>
            )}
          </div>
        )}
      </div>
    </li>
  );
}
