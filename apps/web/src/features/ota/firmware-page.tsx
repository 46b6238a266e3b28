import { useMemo, useState } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, useSearchParams } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { ConfirmDialog } from '../../components/ui/dialog';
import { RelativeTime } from '../../components/ui/relative-time';
import { deleteFirmware, firmwareDownloadLink, listFirmware, type Firmware } from './firmware';
import { FirmwareUploadDialog } from './firmware-upload';
import { formatBytes } from '../../lib/units';

function Sha({ value }: { value: string | null }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <code className="sha" title={value}>
      {value.slice(0, 12)}…
    </code>
  );
}

export function FirmwarePage() {
  usePageTitle('Firmware');
  const { client, can } = useSession();
  const [params, setParams] = useSearchParams();
  const templateId = params.get('templateId') ?? '';
  const templates = useAsync(async () => (await client.templates.list()).items, [client]);
  const list = useAsync(() => listFirmware(client, templateId || undefined), [client, templateId]);
  const templateNames = useMemo(() => new Map((templates.data ?? []).map((t) => [t.id, t.name])), [templates.data]);
  const [dialog, setDialog] = useState<{ described: Firmware | null } | null>(null);
  const [deleting, setDeleting] = useState<Firmware | null>(null);
  const [error, setError] = useState<string | null>(null);

  const download = async (fw: Firmware) => {
    setError(null);
    try {
      const link = await firmwareDownloadLink(client, fw.id);
      window.location.assign(link.url);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <>
      <PageHeader
        title="Firmware"
        subtitle="Firmware images for a device template: describe a version, upload its file, then deploy it to a fleet."
        actions={
          can.uploadFirmware && (
            <button type="button" className="btn btn-primary" onClick={() => setDialog({ described: null })} disabled={!templates.data?.length}>
              New firmware
            </button>
          )
        }
      />
      <Section title="Versions" id="firmware">
        <form className="filters" aria-label="Filter firmware" onSubmit={(e) => e.preventDefault()}>
          <label className="field">
            <span>Template</span>
            <select value={templateId} onChange={(e) => setParams({ templateId: e.target.value || null })}>
              <option value="">All templates</option>
              {(templates.data ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        </form>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <Async state={list} loadingLabel="Loading firmware…">
          {({ items }) =>
            items.length === 0 ? (
              <EmptyState title={templateId ? 'No firmware for this template' : 'No firmware yet'}>
                {templates.data?.length === 0 ? (
                  <p>Firmware is built for a device template, and this org has none yet: templates are made through the API (POST /api/v1/templates).</p>
                ) : (
                  <p>{can.uploadFirmware ? 'Describe a version with “New firmware” and upload its file.' : 'Operators upload firmware.'}</p>
                )}
              </EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="table table-stack firmware-table" aria-label="Firmware">
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Template</th>
                      <th scope="col">Size</th>
                      <th scope="col">SHA-256</th>
                      <th scope="col">File</th>
                      <th scope="col">Created</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((fw) => (
                      <tr key={fw.id} data-firmware-id={fw.id} data-uploaded={fw.uploaded}>
                        <td data-label="Version">
                          <span className="strong">{fw.version}</span>
                          {fw.releaseNotes && (
                            <span className="release-notes muted small" title={fw.releaseNotes}>
                              {fw.releaseNotes}
                            </span>
                          )}
                        </td>
                        <td data-label="Template">{templateNames.get(fw.templateId) ?? '…'}</td>
                        <td data-label="Size" className="nowrap">
                          {fw.size === null ? <span className="muted">—</span> : formatBytes(fw.size)}
                        </td>
                        <td data-label="SHA-256">
                          <Sha value={fw.sha256 ?? fw.declaredSha256} />
                          {!fw.sha256 && fw.declaredSha256 && <span className="muted small"> declared</span>}
                        </td>
                        <td data-label="File">
                          {fw.uploaded ? (
                            <span className="badge badge-online" title={fw.uploadedAt ? `Uploaded ${formatDateTime(fw.uploadedAt)}` : undefined}>
                              Uploaded
                            </span>
                          ) : (
                            <span className="badge badge-warning">Not uploaded</span>
                          )}
                        </td>
                        <td data-label="Created">
                          <RelativeTime value={fw.createdAt} />
                        </td>
                        <td data-label="Actions">
                          <span className="row-actions">
                            {!fw.uploaded && can.uploadFirmware && (
                              <button type="button" className="btn btn-small btn-primary" onClick={() => setDialog({ described: fw })}>
                                Upload file<span className="visually-hidden"> of {fw.version}</span>
                              </button>
                            )}
                            {fw.uploaded && can.deploy && (
                              <Link className="btn btn-small btn-primary" to={`/deployments/new?firmwareId=${fw.id}`}>
                                Deploy<span className="visually-hidden"> {fw.version}</span>
                              </Link>
                            )}
                            {fw.uploaded && (
                              <button type="button" className="btn btn-small" onClick={() => void download(fw)}>
                                Download<span className="visually-hidden"> {fw.version}</span>
                              </button>
                            )}
                            {can.deleteFirmware && (
                              <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(fw)}>
                                Delete<span className="visually-hidden"> {fw.version}</span>
                              </button>
                            )}
                          </span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </Section>
      <FirmwareUploadDialog
        open={dialog !== null}
        described={dialog?.described ?? null}
        templates={templates.data ?? []}
        onClose={(changed) => {
          setDialog(null);
          if (changed) list.reload();
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete firmware ${deleting?.version ?? ''}?`}
        confirmLabel="Delete firmware"
        onConfirm={async () => {
          await deleteFirmware(client, deleting!.id);
          list.reload();
        }}
        onClose={() => setDeleting(null)}
      >
        <p>Its description and file are removed; it can no longer be deployed or downloaded. A firmware that was deployed is kept for its deployments.</p>
      </ConfirmDialog>
    </>
  );
}
