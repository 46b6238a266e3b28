import type { ReactNode } from 'react';
import { ApiError } from '@tether/api-client';

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'FORBIDDEN') return `Not allowed: ${error.message}`;
    return error.message;
  }
  if (error instanceof TypeError) return 'Cannot reach the Tether server. Check your connection and try again.';
  return error instanceof Error ? error.message : String(error);
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function ErrorNotice({ error, onRetry, title = 'Something went wrong' }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div className="state state-error" role="alert">
      <strong>{title}.</strong> {describeError(error)}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

/** Loading, then an error with a retry, then the content. */
export function Async<T>({
  state,
  children,
  loadingLabel,
}: {
  state: { data: T | undefined; error: Error | undefined; loading: boolean; reload(): void };
  children: (data: T) => ReactNode;
  loadingLabel?: string;
}) {
  if (state.error && state.data === undefined) return <ErrorNotice error={state.error} onRetry={state.reload} />;
  if (state.data === undefined) return <Loading label={loadingLabel} />;
  return (
    <>
      {state.error && <ErrorNotice error={state.error} onRetry={state.reload} title="Could not refresh" />}
      {children(state.data)}
    </>
  );
}
