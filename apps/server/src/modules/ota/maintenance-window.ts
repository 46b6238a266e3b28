/**
 * A deployment's maintenance window: devices are told of their job only inside
 * it (a job already under way goes on). `start` and `end` are local times of
 * day in `timezone` (IANA); a window whose end is before its start runs past
 * midnight, and one whose end equals its start is the whole day. `days` (0 =
 * Sunday) are the days it opens on; by default every day.
 */
export interface MaintenanceWindow {
  start: string;
  end: string;
  timezone: string;
  days?: number[];
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formats = new Map<string, Intl.DateTimeFormat>();

const minutesOf = (hhmm: string): number => {
  const m = TIME.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
};

function format(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timezone, f);
  }
  return f;
}

/** What is wrong with the window, or null. */
export function windowProblem(w: MaintenanceWindow): string | null {
  if (!TIME.test(w.start) || !TIME.test(w.end)) return 'start and end are times of day, HH:MM (00:00-23:59)';
  try {
    format(w.timezone);
  } catch {
    return `timezone "${w.timezone}" is not an IANA time zone (like Europe/Berlin or UTC)`;
  }
  if (w.days && (!w.days.length || w.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6))) return 'days are 0 (Sunday) to 6 (Saturday), at least one';
  return null;
}

/** Whether the window is open at `now`. */
export function windowOpen(w: MaintenanceWindow, now: Date): boolean {
  const parts = format(w.timezone).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = WEEKDAYS.indexOf(get('weekday'));
  const minutes = Number(get('hour')) * 60 + Number(get('minute'));
  const start = minutesOf(w.start);
  const end = minutesOf(w.end);
  const opensOn = (d: number) => !w.days || w.days.includes(d);
  if (start < end) return opensOn(day) && minutes >= start && minutes < end;
  if (start === end) return opensOn(day);
  // Past midnight: the part after midnight belongs to the day it opened on.
  if (minutes >= start) return opensOn(day);
  return minutes < end && opensOn((day + 6) % 7);
}
