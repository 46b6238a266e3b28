import { Fragment, useState } from 'react';
import type { Alarm, AlarmDetail, AlarmState } from '@tether/api-client';
import { useSession } from '../../app/session';
import { Link } from '../../lib/router';
import { SeverityBadge } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { describeError } from '../../components/ui/state-views';
import { STATE_LABEL, isOpen } from './alarm-format';
import { AlarmDetailView } from './alarm-detail';
import { useUserNames } from './use-user-names';

export function AlarmStateBadge({ state }: { state: AlarmState }) {
  return <span className={`badge alarm-state alarm-state-${state}`}>{STATE_LABEL[state]}</span>;
}

function RowActions({ alarm, onDone, onError }: { alarm: Alarm; onDone(a: AlarmDetail): void; onError(message: string): void }) {
  const { client, can } = useSession();
  const [busy, setBusy] = useState(false);
  if (!can.handleAlarms || !isOpen(alarm.state)) return null;
  const run = async (act: () => Promise<AlarmDetail>) => {
    setBusy(true);
    try {
      onDone(await act());
    } catch (err) {
      onError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="row-actions">
      {alarm.state === 'active' && (
        <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={() => void run(() => client.alarms.acknowledge(alarm.id))}>
          Acknowledge
          <span className="visually-hidden">
            {' '}
            {alarm.ruleName} on {alarm.deviceName}
          </span>
        </button>
      )}
      <button type="button" className="btn btn-small" disabled={busy} onClick={() => void run(() => client.alarms.clear(alarm.id))}>
        Clear
        <span className="visually-hidden">
          {' '}
          {alarm.ruleName} on {alarm.deviceName}
        </span>
      </button>
    </span>
  );
}

/**
 * Alarms as a table, with Acknowledge and Clear on open rows (operators and
 * up) and an expandable history. `version` changes on every live alarm event,
 * so an open detail reads its history again.
 */
export function AlarmTable({
  alarms,
  version,
  onChanged,
  showDevice = true,
  label = 'Alarms',
}: {
  alarms: Alarm[];
  version: number;
  onChanged(): void;
  showDevice?: boolean;
  label?: string;
}) {
  const { users, nameOf } = useUserNames();
  const [expanded, setExpanded] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const columns = showDevice ? 11 : 10;

  return (
    <>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="table table-stack alarm-table" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Rule</th>
              {showDevice && <th scope="col">Device</th>}
              <th scope="col">Message</th>
              <th scope="col" className="num">
                Count
              </th>
              <th scope="col">Raised</th>
              <th scope="col">Last seen</th>
              <th scope="col">State</th>
              <th scope="col">Assignee</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
              <th scope="col">
                <span className="visually-hidden">History</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {alarms.map((a) => (
              <Fragment key={a.id}>
                <tr className="alarm-row" data-alarm-id={a.id} data-state={a.state}>
                  <td data-label="Severity">
                    <SeverityBadge severity={a.severity} />
                  </td>
                  <td data-label="Rule" className="strong">
                    {a.ruleName}
                  </td>
                  {showDevice && (
                    <td data-label="Device">
                      <Link to={`/devices/${a.deviceId}`}>{a.deviceName}</Link>
                    </td>
                  )}
                  <td data-label="Message" className="alarm-message">
                    {a.message}
                  </td>
                  <td data-label="Count" className="num">
                    {a.count}
                  </td>
                  <td data-label="Raised">
                    <RelativeTime value={a.raisedAt} />
                  </td>
                  <td data-label="Last seen">
                    <RelativeTime value={a.lastSeenAt} />
                  </td>
                  <td data-label="State">
                    <AlarmStateBadge state={a.state} />
                  </td>
                  <td data-label="Assignee">{a.assigneeId ? nameOf(a.assigneeId) : <span className="muted">—</span>}</td>
                  <td data-label="Actions">
                    <RowActions
                      alarm={a}
                      onDone={() => {
                        setError(null);
                        onChanged();
                      }}
                      onError={setError}
                    />
                  </td>
                  <td data-label="History">
                    <button
                      type="button"
                      className="btn btn-small"
                      aria-expanded={expanded === a.id}
                      aria-controls={`alarm-${a.id}-detail`}
                      onClick={() => setExpanded((x) => (x === a.id ? null : a.id))}
                    >
                      {expanded === a.id ? 'Hide history' : 'History'}
                      <span className="visually-hidden">
                        {' '}
                        of {a.ruleName} on {a.deviceName}
                      </span>
                    </button>
                  </td>
                </tr>
                {expanded === a.id && (
                  <tr className="alarm-detail-row" id={`alarm-${a.id}-detail`}>
                    <td colSpan={columns}>
                      <AlarmDetailView alarmId={a.id} version={version} users={users} nameOf={nameOf} onChanged={onChanged} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
