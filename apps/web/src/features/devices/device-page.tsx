import { lazy, Suspense } from 'react';
import type { Device } from '@tether/api-client';
import { ApiError } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { OnlineBadge, Tags } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { Async, EmptyState, ErrorNotice, Loading } from '../../components/ui/state-views';
import { CopyBlock } from '../../components/ui/copy-block';
import { useProjects } from './use-projects';
import { LatestValues } from './latest-values';
import { TelemetryPanel } from './telemetry-panel';
import { StatusTimeline } from './status-timeline';
import { DeviceAlerts } from './device-alerts';
import { MessageHistory } from './message-history';
import { DeviceReports } from './device-reports';
import { LocationPanel } from './location-panel';
import { DeviceSettings } from './device-settings';
import { DeviceAdmin } from './device-admin';
import { DeviceRetirement } from './device-retirement';
import { DevicePhoto } from './device-photo';
import { useDeviceTemplate } from './device-template';
import { ConfigEditor } from '../config/config-editor';
import { PropertiesPanel } from '../metadata/properties-panel';
import { NotesPanel } from '../metadata/notes-panel';
import { CommandPanel } from '../commands/command-panel';
import { DeviceAlarms } from '../alarms/device-alarms';

// The Files section (players and thumbnails) loads on demand, with the pages of app/on-demand-pages.ts.
const DeviceFiles = lazy(() => import('../../app/on-demand-pages').then((m) => ({ default: m.DeviceFiles })));

function ReportedAttributes({ deviceId }: { deviceId: string }) {
  const { client } = useSession();
  const state = useAsync(async () => (await client.devices.attributes(deviceId)).reported, [client, deviceId]);
  return (
    <Async state={state} loadingLabel="Loading attributes…">
      {(reported) => {
        const keys = Object.keys(reported).sort();
        const refresh = (
          <button type="button" className="btn btn-small" onClick={state.reload} disabled={state.loading}>
            Refresh<span className="visually-hidden"> attributes</span>
          </button>
        );
        if (!keys.length) return <p className="muted small">The device has reported no attributes. {refresh}</p>;
        return (
          <>
            <dl className="props">
              {keys.map((k) => (
                <div key={k} className="props-row">
                  <dt>{k}</dt>
                  <dd>
                    <code>{JSON.stringify(reported[k]!.value)}</code> <span className="muted small">({formatDateTime(reported[k]!.updatedAt)})</span>
                  </dd>
                </div>
              ))}
            </dl>
            {refresh}
          </>
        );
      }}
    </Async>
  );
}

/** Notes on the device or one of its streams: the keys it has reported, and those its template expects. */
function DeviceNotes({ device, streams = [] }: { device: Device; streams?: string[] }) {
  const { client } = useSession();
  const latest = useAsync(async () => Object.keys((await client.devices.latest(device.id)).values), [client, device.id]);
  return <NotesPanel entity={{ kind: 'device', id: device.id }} streams={[...new Set([...streams, ...(latest.data ?? [])])]} />;
}

export function DevicePage({ id }: { id: string }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const { projects, names } = useProjects();
  const state = useAsync(() => client.devices.get(id), [client, id, resumes]);
  const { setData } = state;
  usePageTitle(state.data?.name ?? 'Device');
  const template = useDeviceTemplate(state.data?.templateId ?? null);
  const specs = template.data?.telemetry;

  // One subscription for the page; each section listens for what it shows.
  useLiveEvents(state.data ? { devices: [id], channels: ['telemetry', 'locations', 'status', 'commands'] } : null, (e) => {
    if (e.deviceId !== id) return;
    if (e.type === 'status')
      setData(
        (d) =>
          d && {
            ...d,
            status: {
              ...d.status,
              online: e.online,
              lastSeenAt: e.lastSeenAt ?? d.status.lastSeenAt,
              ...(e.online ? { lastConnectedAt: new Date().toISOString() } : { lastDisconnectedAt: new Date().toISOString() }),
            },
          },
      );
    else if (e.type === 'telemetry' || e.type === 'location') {
      setData(
        (d) =>
          d && {
            ...d,
            status: { ...d.status, lastSeenAt: new Date().toISOString(), firstSeenAt: d.status.firstSeenAt ?? new Date().toISOString(), active: true },
            ...(e.type === 'location' ? { location: { lat: e.location.lat, lon: e.location.lon, at: e.location.ts } } : {}),
          },
      );
    }
  });

  if (state.error && !state.data) {
    if (state.error instanceof ApiError && (state.error.status === 404 || state.error.code === 'INVALID_ID')) {
      return (
        <>
          <PageHeader title="Device not found" />
          <EmptyState title="There is no such device in this org">
            <p>
              It may have been deleted. <Link to="/devices">Back to devices</Link>
            </p>
          </EmptyState>
        </>
      );
    }
    return <ErrorNotice error={state.error} onRetry={state.reload} title="Could not load the device" />;
  }
  if (!state.data) return <Loading label="Loading device…" />;
  const d: Device = state.data;

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/devices">Devices</Link> <span aria-hidden="true">/</span> <span aria-current="page">{d.name}</span>
      </nav>
      <PageHeader
        title={
          <>
            {d.name} <OnlineBadge online={d.status.online} active={d.status.active || d.status.lastSeenAt === null} />
            {d.retired && (
              <>
                {' '}
                <span className="badge badge-retired" title={`Retired: ${d.retired.reason}`}>
                  Retired
                </span>
              </>
            )}
          </>
        }
        subtitle={
          <span data-testid="device-subtitle">
            Last seen <RelativeTime value={d.status.lastSeenAt} never="never" />
            {d.projectId && (
              <>
                {' · '}
                <Link to={`/projects/${d.projectId}`}>{names.get(d.projectId) ?? 'project'}</Link>
              </>
            )}
            {d.type && ` · ${d.type}`}
            {d.firmwareVersion && ` · firmware ${d.firmwareVersion}`}
          </span>
        }
      />
      <nav className="jump" aria-label="Sections of this page">
        <a href="#alarms">Alarms</a>
        <a href="#telemetry">Telemetry</a>
        <a href="#commands">Commands</a>
        <a href="#status">Status</a>
        <a href="#location">Location</a>
        <a href="#alerts">Alerts</a>
        <a href="#files">Files</a>
        <a href="#messages">Messages</a>
        <a href="#config">Configuration</a>
        <a href="#properties">Properties</a>
        <a href="#notes">Notes</a>
        <a href="#settings">Details</a>
      </nav>
      <LatestValues device={d} specs={specs} />
      <DeviceAlarms device={d} />
      <TelemetryPanel device={d} specs={specs} />
      <CommandPanel device={d} template={template} />
      <div className="grid-2">
        <StatusTimeline device={d} />
        <LocationPanel device={d} />
      </div>
      <DeviceAlerts device={d} />
      <DeviceReports device={d} />
      <Suspense
        fallback={
          <Section title="Files" id="files">
            <Loading label="Loading files…" />
          </Section>
        }
      >
        <DeviceFiles device={d} />
      </Suspense>
      <MessageHistory device={d} />
      <ConfigEditor
        target={{ scope: 'device', id: d.id }}
        intro={
          <>
            What the device receives on <code>devices/{'{id}'}/config</code>: each key resolves device → project → org, and the most specific value wins. A
            value set here overrides the project and org values for this device alone.
          </>
        }
      />
      <div className="grid-2">
        <PropertiesPanel entity={{ kind: 'device', id: d.id }} />
        <DeviceNotes device={d} streams={specs?.map((t) => t.name)} />
      </div>
      <div className="grid-2">
        <DeviceSettings device={d} projects={projects} onSaved={(saved) => setData(saved)} />
        <Section title="About this device" id="about">
          <DevicePhoto device={d} onChanged={state.reload} />
          <CopyBlock label="Device id" value={d.id} />
          <dl className="props">
            <div className="props-row">
              <dt>Template</dt>
              <dd>{d.templateId ? (template.data?.name ?? (template.error ? 'could not be loaded' : '…')) : <span className="muted">none</span>}</dd>
            </div>
            <div className="props-row">
              <dt>Tags</dt>
              <dd>
                <Tags tags={d.tags} />
              </dd>
            </div>
            <div className="props-row">
              <dt>Created</dt>
              <dd>{formatDateTime(d.createdAt)}</dd>
            </div>
            <div className="props-row">
              <dt>First seen</dt>
              <dd>{d.status.firstSeenAt ? formatDateTime(d.status.firstSeenAt) : 'never'}</dd>
            </div>
            <div className="props-row">
              <dt>Inactivity timeout</dt>
              <dd>{d.status.inactivityTimeoutS} s</dd>
            </div>
          </dl>
          <h3 className="h3">Reported attributes</h3>
          <ReportedAttributes deviceId={d.id} />
        </Section>
      </div>
      <DeviceRetirement device={d} onChanged={(saved) => setData(saved)} />
      <DeviceAdmin device={d} />
    </>
  );
}
