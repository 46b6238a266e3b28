import { useEffect, useState } from 'react';
import type { Device, Report } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { formatBytes } from '../../lib/units';
import { Section } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';

const LIMIT = 10;
/** How often a report still being parsed is read again. */
const POLL_MS = 2000;

const STATE_LABEL: Record<Report['state'], string> = { stored: 'Stored', parsing: 'Parsing', done: 'Done', failed: 'Failed' };
const STATE_CLASS: Record<Report['state'], string> = { stored: 'badge', parsing: 'badge', done: 'badge badge-online', failed: 'badge badge-warning' };

/** A report's bad lines, read when opened. */
function BadLines({ report }: { report: Report }) {
  const { client } = useSession();
  const state = useAsync(() => client.reports.errors(report.id, { limit: 100 }), [client, report.id, report.lines.rejected]);
  return (
    <Async state={state} loadingLabel="Loading bad lines…">
      {(page) => (
        <>
          <table className="table" aria-label={`Bad lines of the report received ${formatDateTime(report.receivedAt)}`}>
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Reason</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((e) => (
                <tr key={e.line}>
                  <td>{e.line}</td>
                  <td>
                    <code>{e.reason}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {(page.total > page.items.length || report.errorsNotListed > 0) && (
            <p className="muted">
              {page.items.length} of {report.lines.rejected.toLocaleString()} bad lines shown
              {report.errorsNotListed > 0 ? `; past the first ${page.total.toLocaleString()}, bad lines are counted, not listed` : ''}.
            </p>
          )}
        </>
      )}
    </Async>
  );
}

/** Store-and-forward reports the device uploaded (issue 15): state, line counts and the bad lines. */
export function DeviceReports({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [offset, setOffset] = useState(0);
  const state = useAsync(() => client.reports.list({ deviceId: device.id, limit: LIMIT, offset }), [client, device.id, offset, resumes]);
  const { reload } = state;
  const busy = state.data?.items.some((r) => r.state === 'stored' || r.state === 'parsing') ?? false;
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, [busy, reload]);

  return (
    <Section title="Reports" id="reports">
      <Async state={state} loadingLabel="Loading reports…">
        {(page) => {
          if (!page.items.length)
            return (
              <EmptyState title="No reports">
                <p>
                  Readings a device buffered while offline and uploaded as one file (<code>POST /api/v1/device/reports</code>, JSON lines or CSV) are listed
                  here as they are parsed.
                </p>
              </EmptyState>
            );
          return (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Reports">
                  <thead>
                    <tr>
                      <th scope="col">Received</th>
                      <th scope="col">Format</th>
                      <th scope="col">State</th>
                      <th scope="col">Lines stored</th>
                      <th scope="col">Bad lines</th>
                      <th scope="col">Readings</th>
                      <th scope="col">Size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((r) => (
                      <tr key={r.id} data-report={r.id}>
                        <td data-label="Received" className="nowrap">
                          <time dateTime={r.receivedAt} title={formatDateTimeZone(r.receivedAt)}>
                            {formatDateTime(r.receivedAt)}
                          </time>
                        </td>
                        <td data-label="Format">{r.format === 'csv' ? 'CSV' : 'JSON lines'}</td>
                        <td data-label="State">
                          <span className={STATE_CLASS[r.state]}>{STATE_LABEL[r.state]}</span>
                          {r.failure && <div className="muted">{r.failure}</div>}
                        </td>
                        <td data-label="Lines stored">{r.lines.accepted.toLocaleString()}</td>
                        <td data-label="Bad lines">
                          {r.lines.rejected === 0 ? (
                            '0'
                          ) : (
                            <details>
                              <summary>{r.lines.rejected.toLocaleString()}</summary>
                              <BadLines report={r} />
                            </details>
                          )}
                        </td>
                        <td data-label="Readings">{r.readings.toLocaleString()}</td>
                        <td data-label="Size">{formatBytes(r.bytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="Report pages" />
            </>
          );
        }}
      </Async>
    </Section>
  );
}
