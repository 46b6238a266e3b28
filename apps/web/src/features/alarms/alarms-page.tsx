import { useMemo } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, useSearchParams } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { ALARM_SEVERITIES, STATE_LABEL } from './alarm-format';
import { useAlarmCounts, useAlarmVersion } from './alarm-live';
import { AlarmTable } from './alarm-table';
import { RulesPanel } from './rules-panel';

const LIMIT = 50;
const STATE_FILTERS: { id: string; label: string }[] = [
  { id: 'open', label: 'Open (active or acknowledged)' },
  { id: 'all', label: 'All states' },
  ...(['active', 'acknowledged', 'cleared_unacknowledged', 'cleared'] as const).map((s) => ({ id: s, label: STATE_LABEL[s] })),
];

function AlarmList() {
  const { client } = useSession();
  const version = useAlarmVersion();
  const [params, setParams] = useSearchParams();
  const devices = useAsync(() => client.devices.list({ limit: 500 }), [client]);
  const state = params.get('state') ?? 'open';
  const severity = params.get('severity') ?? '';
  const deviceId = params.get('deviceId') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const query = useMemo(
    () => ({
      state: state === 'all' ? undefined : state,
      severity: severity || undefined,
      deviceId: deviceId || undefined,
      limit: LIMIT,
      offset,
    }),
    [state, severity, deviceId, offset],
  );
  const list = useAsync(() => client.alarms.list(query), [client, query, version]);
  const deviceList: Device[] = devices.data?.items ?? [];
  const filtered = state !== 'open' || severity || deviceId;

  return (
    <Section title="Alarms" id="alarms">
      <form className="filters" aria-label="Filter alarms" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>State</span>
          <select value={state} onChange={(e) => setParams({ state: e.target.value === 'open' ? null : e.target.value, offset: null })}>
            {STATE_FILTERS.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Severity</span>
          <select value={severity} onChange={(e) => setParams({ severity: e.target.value || null, offset: null })}>
            <option value="">All severities</option>
            {ALARM_SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Device</span>
          <select value={deviceId} onChange={(e) => setParams({ deviceId: e.target.value || null, offset: null })}>
            <option value="">All devices</option>
            {deviceList
              .slice()
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            {deviceId && !deviceList.some((d) => d.id === deviceId) && <option value={deviceId}>This device</option>}
          </select>
        </label>
        {filtered && (
          <button
            type="button"
            className="btn btn-ghost filters-clear"
            onClick={() => setParams({ state: null, severity: null, deviceId: null, offset: null })}
          >
            Clear filters
          </button>
        )}
      </form>
      <Async state={list} loadingLabel="Loading alarms…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title={state === 'open' && !severity && !deviceId ? 'No open alarms' : 'No alarms match'}>
              <p>
                Alarms are raised by <Link to="/alarms?tab=rules">rules</Link>; they appear here the moment they are.
              </p>
            </EmptyState>
          ) : (
            <div aria-live="polite" data-testid="alarm-list">
              <AlarmTable alarms={page.items} version={version} onChanged={list.reload} />
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={(o) => setParams({ offset: o || null })} label="Alarm pages" />
            </div>
          )
        }
      </Async>
    </Section>
  );
}

function Tabs({ tab, onChange }: { tab: 'alarms' | 'rules'; onChange(tab: 'alarms' | 'rules'): void }) {
  const counts = useAlarmCounts();
  const open = Object.values(counts?.open ?? {}).reduce((a, b) => a + b, 0);
  return (
    <div className="tabs" role="tablist" aria-label="Alarms or rules">
      <button type="button" role="tab" className="tab" aria-selected={tab === 'alarms'} aria-controls="tab-panel" onClick={() => onChange('alarms')}>
        Alarms {open > 0 && <span className="count">{open}</span>}
      </button>
      <button type="button" role="tab" className="tab" aria-selected={tab === 'rules'} aria-controls="tab-panel" onClick={() => onChange('rules')}>
        Rules
      </button>
    </div>
  );
}

export function AlarmsPage() {
  usePageTitle('Alarms');
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'rules' ? 'rules' : 'alarms';
  return (
    <>
      <PageHeader title="Alarms" subtitle="Raised by rules on what devices report; acknowledged and cleared here." />
      <Tabs tab={tab} onChange={(t) => setParams({ tab: t === 'alarms' ? null : t, offset: null })} />
      <div id="tab-panel" role="tabpanel">
        {tab === 'alarms' ? <AlarmList /> : <RulesPanel />}
      </div>
    </>
  );
}
