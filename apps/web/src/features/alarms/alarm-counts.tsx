import { Link } from '../../lib/router';
import { ALARM_SEVERITIES } from './alarm-format';
import { useAlarmCounts } from './alarm-live';

/** The header's open alarms by severity ("2 critical"), each a link to those alarms. */
export function AlarmCountPills() {
  const counts = useAlarmCounts();
  const open = counts?.open ?? {};
  const shown = ALARM_SEVERITIES.filter((s) => (open[s] ?? 0) > 0);
  if (!shown.length) return null;
  return (
    <span className="alarm-pills" data-testid="alarm-counts" aria-label="Open alarms">
      {shown.map((s) => (
        <Link key={s} to={`/alarms?severity=${s}`} className={`alarm-pill sev-${s}`} title={`Open ${s} alarms`}>
          {open[s]} {s}
        </Link>
      ))}
    </span>
  );
}
