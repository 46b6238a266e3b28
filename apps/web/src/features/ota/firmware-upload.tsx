import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, type DeviceTemplate } from '@tether/api-client';
import { useSession } from '../../app/session';
import { UploadAborted, type UploadProgress } from '../../app/dashboard-client';
import { Dialog } from '../../components/ui/dialog';
import { CopyBlock } from '../../components/ui/copy-block';
import { describeError } from '../../components/ui/state-views';
import { FIRMWARE_VERSION, SHA256, createFirmware, uploadFirmware, type Firmware } from './firmware';
import { formatBytes } from '../../lib/units';

/** What went wrong with an upload, said for the operator; nothing of a refused upload is kept. */
function uploadProblem(err: unknown): string {
  if (err instanceof UploadAborted) return 'The upload was cancelled; nothing was kept. Choose the file again to upload it.';
  if (err instanceof ApiError && err.code === 'FIRMWARE_CHECKSUM_MISMATCH')
    return `This file is not the build described: ${err.message}. Nothing was kept; choose the right file.`;
  return describeError(err);
}

type Phase = { kind: 'editing' } | { kind: 'describing' } | { kind: 'uploading'; progress: UploadProgress } | { kind: 'done'; firmware: Firmware };

/** The upload's bar: bytes sent of the file, then the server's check once all are sent. */
function UploadBar({ progress, fileName }: { progress: UploadProgress; fileName: string }) {
  const percent = progress.total > 0 ? Math.floor((progress.loaded * 100) / progress.total) : 0;
  const sent = progress.total > 0 && progress.loaded >= progress.total;
  return (
    <div className="upload-progress" data-testid="upload-progress" data-percent={percent}>
      <div className="upload-progress-head">
        <span className="strong">{fileName}</span>
        <span aria-hidden="true">{percent}%</span>
      </div>
      <progress max={100} value={percent} aria-label={`Uploading ${fileName}`} />
      <p className="muted small" aria-live="polite">
        {sent ? 'All sent; the server is checking the size and sha256…' : `${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} sent`}
      </p>
    </div>
  );
}

/**
 * Describes a firmware (template, version, notes, optional sha256) and uploads
 * its file with a progress bar; or, given a described firmware, uploads its
 * file. A refused upload (a sha256 that does not match, a cut connection)
 * keeps the description, so another file can be sent for it.
 */
export function FirmwareUploadDialog({
  open,
  described,
  templates,
  onClose,
}: {
  open: boolean;
  /** A firmware described earlier whose file is not uploaded yet. */
  described: Firmware | null;
  templates: DeviceTemplate[];
  onClose(changed: boolean): void;
}) {
  const { client } = useSession();
  const fileId = useId();
  const [templateId, setTemplateId] = useState('');
  const [version, setVersion] = useState('');
  const [notes, setNotes] = useState('');
  const [sha256, setSha256] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [firmware, setFirmware] = useState<Firmware | null>(described);
  const [phase, setPhase] = useState<Phase>({ kind: 'editing' });
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    if (!open) return;
    setFirmware(described);
    setTemplateId(described?.templateId ?? (templates.length === 1 ? templates[0]!.id : ''));
    setVersion(described?.version ?? '');
    setNotes(described?.releaseNotes ?? '');
    setSha256(described?.declaredSha256 ?? '');
    setFile(null);
    setPhase({ kind: 'editing' });
    setError(null);
  }, [open, described, templates]);

  // Closing the dialog mid-upload stops the upload.
  useEffect(() => () => abort.current?.abort(), []);

  const close = () => {
    abort.current?.abort();
    onClose(firmware !== described || phase.kind === 'done');
  };

  const versionOk = FIRMWARE_VERSION.test(version.trim());
  const shaOk = !sha256.trim() || SHA256.test(sha256.trim());
  const busy = phase.kind === 'describing' || phase.kind === 'uploading';
  const locked = firmware !== null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose the firmware file.');
    if (file.size === 0) return setError('The file is empty.');
    setError(null);
    let fw = firmware;
    if (!fw) {
      setPhase({ kind: 'describing' });
      try {
        fw = await createFirmware(client, {
          templateId,
          version: version.trim(),
          ...(notes.trim() ? { releaseNotes: notes.trim() } : {}),
          ...(sha256.trim() ? { sha256: sha256.trim().toLowerCase() } : {}),
        });
        setFirmware(fw);
      } catch (err) {
        setPhase({ kind: 'editing' });
        return setError(describeError(err));
      }
    }
    const controller = new AbortController();
    abort.current = controller;
    setPhase({ kind: 'uploading', progress: { loaded: 0, total: file.size } });
    try {
      const uploaded = await uploadFirmware(client, fw.id, file, {
        signal: controller.signal,
        onProgress: (progress) => setPhase({ kind: 'uploading', progress }),
      });
      setPhase({ kind: 'done', firmware: uploaded });
    } catch (err) {
      setPhase({ kind: 'editing' });
      setError(uploadProblem(err));
    } finally {
      abort.current = null;
    }
  };

  const title = phase.kind === 'done' ? 'Firmware uploaded' : described ? `Upload the file of ${described.version}` : 'New firmware';

  return (
    <Dialog open={open} title={title} onClose={close} wide>
      {phase.kind === 'done' ? (
        <div className="form" data-testid="firmware-uploaded">
          <p className="notice">
            <strong>{phase.firmware.version}</strong> is uploaded: {formatBytes(phase.firmware.size ?? 0)}. Devices check the file against this sha256 before
            they install it.
          </p>
          <CopyBlock label="SHA-256" value={phase.firmware.sha256 ?? ''} testId="firmware-sha256" />
          <div className="form-actions">
            <button type="button" className="btn btn-primary" onClick={close} autoFocus>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form className="form" aria-label={title} onSubmit={(e) => void submit(e)}>
          {error && (
            <p className="notice notice-error" role="alert" data-testid="firmware-error">
              {error}
            </p>
          )}
          {locked && (
            <p className="notice small">
              Firmware <strong>{firmware.version}</strong> is described; its file is not uploaded yet.
            </p>
          )}
          <div className="form-grid">
            <label className="field">
              <span>Device template</span>
              <select required value={templateId} disabled={locked || busy} onChange={(e) => setTemplateId(e.target.value)}>
                <option value="">Choose a template…</option>
                {templates.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Version</span>
              <input
                required
                maxLength={64}
                value={version}
                disabled={locked || busy}
                onChange={(e) => setVersion(e.target.value)}
                placeholder="2.1.0"
                aria-invalid={version.trim() !== '' && !versionOk}
                aria-describedby="fw-version-help"
                autoFocus={!locked}
              />
              <small id="fw-version-help" className="muted">
                As devices report it in fw_version; semantic versions compare as such in fleet selectors.
              </small>
            </label>
            <label className="field field-wide">
              <span>Release notes</span>
              <textarea className="prose" rows={3} value={notes} disabled={locked || busy} maxLength={20_000} onChange={(e) => setNotes(e.target.value)} />
            </label>
            <label className="field field-wide">
              <span>SHA-256 (optional)</span>
              <input
                value={sha256}
                disabled={locked || busy}
                onChange={(e) => setSha256(e.target.value)}
                placeholder="64 hex digits, from your build"
                spellCheck={false}
                aria-invalid={!shaOk}
                aria-describedby="fw-sha-help"
                className="mono"
              />
              <small id="fw-sha-help" className="muted">
                If given, the server refuses a file whose bytes do not hash to it.
              </small>
            </label>
            <div className="field field-wide">
              <label htmlFor={fileId}>Firmware file</label>
              <input
                id={fileId}
                type="file"
                required
                disabled={busy}
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
                aria-describedby={`${fileId}-help`}
              />
              <small id={`${fileId}-help`} className="muted">
                {file ? `${file.name}, ${formatBytes(file.size)}. ` : ''}Sent as it is, straight from disk.
              </small>
            </div>
          </div>
          {phase.kind === 'uploading' && file && <UploadBar progress={phase.progress} fileName={file.name} />}
          <div className="form-actions">
            {phase.kind === 'uploading' ? (
              <button type="button" className="btn btn-danger" onClick={() => abort.current?.abort()}>
                Cancel upload
              </button>
            ) : (
              <button type="button" className="btn" onClick={close}>
                {locked ? 'Close' : 'Cancel'}
              </button>
            )}
            <button type="submit" className="btn btn-primary" disabled={busy || !file || !templateId || !versionOk || !shaOk}>
              {phase.kind === 'describing' ? 'Saving…' : phase.kind === 'uploading' ? 'Uploading…' : locked ? 'Upload file' : 'Save and upload'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
