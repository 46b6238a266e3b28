export function Pagination({
  total,
  limit,
  offset,
  onChange,
  label = 'Pages',
}: {
  total: number;
  limit: number;
  offset: number;
  onChange(offset: number): void;
  label?: string;
}) {
  if (total <= limit && offset === 0) return null;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return (
    <nav className="pagination" aria-label={label}>
      <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span aria-live="polite">
        Page {page} of {pages} <span className="muted">({total} in all)</span>
      </span>
      <button type="button" className="btn btn-small" disabled={offset + limit >= total} onClick={() => onChange(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}
