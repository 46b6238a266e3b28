/** Status and severity are always spelled out, never shown by colour alone. */
export function OnlineBadge({ online, active = true }: { online: boolean; active?: boolean }) {
  return (
    <span className={`badge ${online ? 'badge-online' : 'badge-offline'}`}>
      <span className="dot" aria-hidden="true" />
      {online ? 'Online' : 'Offline'}
      {!active && <span className="badge-sub"> · inactive</span>}
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <span className={`badge sev sev-${severity}`}>{severity}</span>;
}

export function RoleBadge({ role }: { role: string }) {
  return <span className={`badge role role-${role}`}>{role}</span>;
}

export function Tags({ tags }: { tags: string[] }) {
  if (!tags.length) return <span className="muted">—</span>;
  return (
    <ul className="tags" aria-label="Tags">
      {tags.map((t) => (
        <li key={t} className="tag">
          {t}
        </li>
      ))}
    </ul>
  );
}
