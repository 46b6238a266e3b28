import { useNow } from '../../lib/use-now';
import { formatDateTimeZone, formatRelative } from '../../lib/time';

/** "12 s ago", ticking every second; the exact local time with zone is in the tooltip. */
export function RelativeTime({ value, never = 'never' }: { value: string | null | undefined; never?: string }) {
  const now = useNow();
  if (!value) return <span className="muted">{never}</span>;
  return (
    <time dateTime={value} title={formatDateTimeZone(value)}>
      {formatRelative(value, now)}
    </time>
  );
}
