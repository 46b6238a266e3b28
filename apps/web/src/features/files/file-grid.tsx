import { useState } from 'react';
import type { DeviceFile } from '@tether/api-client';
import { useSession } from '../../app/session';
import { ConfirmDialog } from '../../components/ui/dialog';
import { FileCard } from './file-card';

/** Device files as cards, with delete (asked first) for operators. */
export function FileGrid({ files, showDevice = false, onDeleted, label }: { files: DeviceFile[]; showDevice?: boolean; onDeleted(): void; label: string }) {
  const { client, can } = useSession();
  const [deleting, setDeleting] = useState<DeviceFile | null>(null);
  return (
    <>
      <ul className="file-grid" aria-label={label}>
        {files.map((f) => (
          <FileCard key={f.id} name={f.name} file={f} showDevice={showDevice} onDelete={can.deleteFiles ? setDeleting : undefined} />
        ))}
      </ul>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? 'file'}?`}
        confirmLabel="Delete file"
        onConfirm={async () => {
          await client.files.delete(deleting!.id);
          onDeleted();
        }}
        onClose={() => setDeleting(null)}
      >
        <p>
          {deleting?.state === 'uploading' ? 'Its upload is abandoned and the bytes that arrived are removed.' : 'The file and its bytes are removed for good.'}{' '}
          An alert that names it shows it as not uploaded.
        </p>
      </ConfirmDialog>
    </>
  );
}
