import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { describeError } from './state-views';

/** A modal on the native <dialog>: focus is trapped and Escape closes it. */
export function Dialog({ open, title, onClose, children, wide }: { open: boolean; title: string; onClose(): void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={wide ? 'dialog dialog-wide' : 'dialog'} aria-labelledby={titleId} onClose={onClose}>
      {open && (
        <>
          <header className="dialog-header">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close">
              ×
            </button>
          </header>
          <div className="dialog-body">{children}</div>
        </>
      )}
    </dialog>
  );
}

/**
 * Asks before a destructive action: Cancel, or the action. While it runs the
 * button is disabled; if it throws, its error shows here and the dialog stays;
 * once it is done the dialog closes.
 */
export function ConfirmDialog({
  open,
  title,
  confirmLabel,
  dismissLabel = 'Cancel',
  onConfirm,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  confirmLabel: string;
  /** The button that leaves things as they are; name it otherwise when the action is itself a cancel. */
  dismissLabel?: string;
  onConfirm(): Promise<void>;
  onClose(): void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      close();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={title} onClose={close}>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {children}
      <div className="form-actions">
        <button type="button" className="btn" onClick={close} autoFocus>
          {dismissLabel}
        </button>
        <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void confirm()}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
