import { useState, type FormEvent } from 'react';
import type { Project } from '@tether/api-client';
import { describeError } from '../../components/ui/state-views';

export interface ProjectInput {
  name: string;
  description: string;
  inactivityTimeoutS: number | null;
}

export function ProjectForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: Project;
  submitLabel: string;
  onSubmit(p: ProjectInput): Promise<void>;
  onCancel(): void;
}) {
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [timeout, setTimeoutText] = useState(initial?.inactivityTimeoutS ? String(initial.inactivityTimeoutS) : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ name: name.trim(), description: description.trim(), inactivityTimeoutS: timeout ? Number(timeout) : null });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit}>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <label className="field">
        <span>Name</span>
        <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label className="field">
        <span>Inactivity timeout (seconds)</span>
        <input
          type="number"
          min={1}
          max={31 * 86400}
          inputMode="numeric"
          value={timeout}
          onChange={(e) => setTimeoutText(e.target.value)}
          placeholder="server default"
          aria-describedby="timeout-help"
        />
        <small id="timeout-help" className="muted">
          A device that sends nothing for this long counts as inactive. Empty: the server default.
        </small>
      </label>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
          {busy ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
