/** Time formatting and the telemetry range presets. Times are shown in the browser's zone, with the zone named. */

export function timeZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}

/** "UTC+02:00" for the given instant in the browser's zone. */
export function utcOffsetLabel(at = new Date()): string {
  const minutes = -at.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function timeZoneLabel(at = new Date()): string {
  return `${timeZoneName()}, ${utcOffsetLabel(at)}`;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateTimeZoneFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export const toMs = (t: string | number | Date): number => (typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime());

/** Local date and time, e.g. "12 Mar 2026, 14:03:07". */
export function formatDateTime(t: string | number | Date): string {
  return dateTimeFormat.format(toMs(t));
}

/** Local date and time with the zone, for titles and tooltips. */
export function formatDateTimeZone(t: string | number | Date): string {
  return dateTimeZoneFormat.format(toMs(t));
}

export function formatTime(t: string | number | Date): string {
  return timeFormat.format(toMs(t));
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "4 d ago"; future times read "in …". */
export function formatRelative(t: string | number | Date, now = Date.now()): string {
  const diff = now - toMs(t);
  const abs = Math.abs(diff);
  const fmt = (n: number, unit: string) => (diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`);
  if (abs < 5_000) return 'just now';
  if (abs < 60_000) return fmt(Math.floor(abs / 1000), 's');
  if (abs < 3_600_000) return fmt(Math.floor(abs / 60_000), 'min');
  if (abs < 86_400_000) return fmt(Math.floor(abs / 3_600_000), 'h');
  return fmt(Math.floor(abs / 86_400_000), 'd');
}

/** A value for `<input type="datetime-local">` in the browser's zone. */
export function toDateTimeLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Parses `<input type="datetime-local">` (local time); NaN when empty or invalid. */
export function fromDateTimeLocal(v: string): number {
  return v ? new Date(v).getTime() : NaN;
}

const tickTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const tickTimeSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const tickDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

/**
 * Labels for time-axis ticks (seconds since the epoch) in the browser's zone and
 * locale: the time, with the date under the first tick of each day; just the
 * date when ticks are a day or more apart.
 */
export function timeAxisLabels(splits: number[], incrementS: number): string[] {
  let prevDay = '';
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const day = tickDay.format(d);
    if (incrementS >= 86_400) return day;
    const time = (incrementS < 60 ? tickTimeSeconds : tickTime).format(d);
    const label = day !== prevDay ? `${time}\n${day}` : time;
    prevDay = day;
    return label;
  });
}
