import { useMemo, useState, type FormEvent } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, navigate, useSearchParams } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { EmptyState, describeError } from '../../components/ui/state-views';
import { useTemplates } from '../devices/device-template';
import { GROUP_PRESETS, WEEKDAYS, createDeployment, groupsProblem, percentsLabel, planGroups } from './deployments';
import {
  DEADLINE_UNITS,
  FormError,
  emptyDeploymentForm,
  formToDeploymentInput,
  percentsOf,
  type DeadlineUnit,
  type DeploymentForm,
} from './deployment-form-model';
import { listFirmware, type Firmware } from './firmware';
import { fleetDevices, listFleets } from './fleets';

const FLEET_CHECK_LIMIT = 1000;
/** Monday first, as people read a week. */
const WEEK = [1, 2, 3, 4, 5, 6, 0];

/** What the deployment would take from the fleet now: devices to update, those already on the version, those of another template. */
function FleetCheck({ firmware, fleetId, percents }: { firmware: Firmware; fleetId: string; percents: number[] }) {
  const { client } = useSession();
  const members = useAsync(() => fleetDevices(client, fleetId, FLEET_CHECK_LIMIT), [client, fleetId]);
  if (members.error) return <p className="notice notice-error small">{describeError(members.error)}</p>;
  if (!members.data) return <p className="muted small">Looking at the fleet…</p>;
  const { items, total } = members.data;
  const exact = items.length === total;
  const foreign = items.filter((d) => d.templateId !== firmware.templateId).length;
  const already = items.filter((d) => d.firmwareVersion === firmware.version).length;
  const targets = total - already - foreign;
  const sizes = groupsProblem(percents) ? [] : planGroups(targets, percents);
  return (
    <div className="fleet-check" data-testid="fleet-check" aria-live="polite">
      <p>
        The fleet has <strong>{total}</strong> {total === 1 ? 'device' : 'devices'} now
        {already > 0 && (
          <>
            ; <strong>{already}</strong> already {already === 1 ? 'runs' : 'run'} {firmware.version} and {already === 1 ? 'is' : 'are'} left out
          </>
        )}
        .{' '}
        {targets > 0 && exact && (
          <>
            <strong>{targets}</strong> to update
            {sizes.length > 0 && (
              <>
                , in groups of <strong data-testid="group-sizes">{sizes.join(' → ')}</strong>
              </>
            )}
            .
          </>
        )}
      </p>
      {foreign > 0 && (
        <p className="notice notice-warning small" role="alert">
          {foreign} of its devices are not of this firmware’s template; the server refuses the deployment. Narrow the fleet to the template.
        </p>
      )}
      {exact && total > 0 && targets === 0 && foreign === 0 && (
        <p className="notice notice-warning small" role="alert">
          Every device of the fleet already runs {firmware.version}: there is nothing to deploy.
        </p>
      )}
      {!exact && <p className="muted small">(counted over its first {items.length} devices)</p>}
    </div>
  );
}

function GroupsField({ f, set }: { f: DeploymentForm; set(patch: Partial<DeploymentForm>): void }) {
  const percents = percentsOf(f);
  const problem = groupsProblem(percents);
  const current = percentsLabel(percents);
  const setAt = (i: number, v: string) => set({ percents: f.percents.map((p, j) => (j === i ? v : p)) });
  return (
    <fieldset className="field field-wide groups-field">
      <legend>Groups</legend>
      <div className="presets" role="group" aria-label="Group presets">
        {GROUP_PRESETS.map((p) => (
          <button
            key={p.label}
            type="button"
            className="btn btn-small"
            aria-pressed={percentsLabel(p.percents) === current}
            onClick={() => set({ percents: p.percents.map(String) })}
          >
            {p.label}
          </button>
        ))}
      </div>
      <ol className="group-list">
        {f.percents.map((p, i) => (
          <li key={i}>
            <label>
              <span className="group-name">Group {i + 1}</span> brings the deployment to{' '}
              <input
                type="number"
                min={1}
                max={100}
                step="any"
                inputMode="decimal"
                className="percent-input"
                value={p}
                onChange={(e) => setAt(i, e.target.value)}
                aria-label={`Group ${i + 1}: cumulative percent`}
              />{' '}
              % of its devices
            </label>
            {f.percents.length > 1 && (
              <button type="button" className="btn btn-small btn-ghost" onClick={() => set({ percents: f.percents.filter((_, j) => j !== i) })}>
                Remove<span className="visually-hidden"> group {i + 1}</span>
              </button>
            )}
          </li>
        ))}
      </ol>
      <div>
        <button type="button" className="btn btn-small" onClick={() => set({ percents: [...f.percents, '100'] })}>
          Add group
        </button>
      </div>
      <small className={problem ? 'field-error' : 'muted'}>
        {problem ?? 'Each group starts once the one before reaches the success threshold; the last reaches 100%.'}
      </small>
    </fieldset>
  );
}

export function DeploymentNewPage() {
  usePageTitle('New deployment');
  const { client, can } = useSession();
  const [params] = useSearchParams();
  const firmware = useAsync(async () => (await listFirmware(client)).items.filter((fw) => fw.uploaded), [client]);
  const fleets = useAsync(async () => (await listFleets(client)).items, [client]);
  const { templates } = useTemplates();
  const [f, setF] = useState<DeploymentForm>(() =>
    emptyDeploymentForm({ firmwareId: params.get('firmwareId') ?? undefined, fleetId: params.get('fleetId') ?? undefined }),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (patch: Partial<DeploymentForm>) => setF((x) => ({ ...x, ...patch }));
  const zones = useMemo(() => (typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []), []);

  const chosenFirmware = firmware.data?.find((fw) => fw.id === f.firmwareId);
  const chosenFleet = fleets.data?.find((x) => x.id === f.fleetId);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let input;
    try {
      input = formToDeploymentInput(f);
    } catch (err) {
      if (err instanceof FormError) return setError(err.message);
      throw err;
    }
    setBusy(true);
    try {
      const d = await createDeployment(client, input);
      navigate(`/deployments/${d.id}`);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  if (!can.deploy) {
    return (
      <>
        <PageHeader title="New deployment" />
        <EmptyState title="Operators start deployments">
          <p>
            Your role can follow them: <Link to="/deployments">Deployments</Link>.
          </p>
        </EmptyState>
      </>
    );
  }

  const byTemplate = templates
    .map((t) => ({ template: t, items: (firmware.data ?? []).filter((fw) => fw.templateId === t.id) }))
    .filter((g) => g.items.length > 0);

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/deployments">Deployments</Link> /
      </nav>
      <PageHeader title="New deployment" subtitle="A firmware to a fleet, in groups: each group waits for the one before to succeed." />
      <Section title="Deployment" id="deployment-form">
        <form className="form deployment-form" aria-label="New deployment" onSubmit={(e) => void submit(e)}>
          <div className="form-grid">
            <label className="field">
              <span>Firmware</span>
              <select required value={f.firmwareId} onChange={(e) => set({ firmwareId: e.target.value })}>
                <option value="">{firmware.data ? (firmware.data.length ? 'Choose a firmware…' : 'No uploaded firmware yet') : 'Loading…'}</option>
                {byTemplate.map((g) => (
                  <optgroup key={g.template.id} label={g.template.name}>
                    {g.items.map((fw) => (
                      <option key={fw.id} value={fw.id}>
                        {fw.version} ({g.template.name})
                      </option>
                    ))}
                  </optgroup>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Fleet</span>
              <select required value={f.fleetId} onChange={(e) => set({ fleetId: e.target.value })}>
                <option value="">{fleets.data ? (fleets.data.length ? 'Choose a fleet…' : 'No fleets yet') : 'Loading…'}</option>
                {(fleets.data ?? []).map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </select>
            </label>
            {chosenFirmware && chosenFleet && (
              <div className="field-wide">
                <FleetCheck firmware={chosenFirmware} fleetId={chosenFleet.id} percents={percentsOf(f)} />
              </div>
            )}
            {chosenFirmware?.releaseNotes && (
              <p className="field-wide muted small release-notes-full">
                <span className="strong">Release notes of {chosenFirmware.version}:</span> {chosenFirmware.releaseNotes}
              </p>
            )}
            <label className="field field-wide">
              <span>Name (optional)</span>
              <input
                maxLength={200}
                value={f.name}
                onChange={(e) => set({ name: e.target.value })}
                placeholder={chosenFirmware && chosenFleet ? `${chosenFirmware.version} to ${chosenFleet.name}` : 'the firmware version and the fleet name'}
              />
            </label>
            <GroupsField f={f} set={set} />
            <label className="field">
              <span>Success threshold (%)</span>
              <input
                type="number"
                min={1}
                max={100}
                inputMode="numeric"
                value={f.successThreshold}
                onChange={(e) => set({ successThreshold: e.target.value })}
                aria-describedby="dep-success-help"
              />
              <small id="dep-success-help" className="muted">
                Of a group installed before the next one starts.
              </small>
            </label>
            <label className="field">
              <span>Error threshold (%)</span>
              <input
                type="number"
                min={0}
                max={100}
                inputMode="numeric"
                value={f.errorThreshold}
                onChange={(e) => set({ errorThreshold: e.target.value })}
                aria-describedby="dep-error-help"
              />
              <small id="dep-error-help" className="muted">
                Of a group failed or timed out past which the whole deployment stops.
              </small>
            </label>
            <fieldset className="field">
              <legend>Device deadline</legend>
              <div className="inline-form-fields">
                <input
                  type="number"
                  min={1}
                  step="any"
                  inputMode="decimal"
                  className="deadline-input"
                  value={f.deadline}
                  onChange={(e) => set({ deadline: e.target.value })}
                  aria-label="Device deadline"
                  aria-describedby="dep-deadline-help"
                />
                <select value={f.deadlineUnit} onChange={(e) => set({ deadlineUnit: e.target.value as DeadlineUnit })} aria-label="Device deadline unit">
                  {DEADLINE_UNITS.map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.label}
                    </option>
                  ))}
                </select>
              </div>
              <small id="dep-deadline-help" className="muted">
                From the start of its group, to report the new version; then it counts as timed out.
              </small>
            </fieldset>
            <fieldset className="field field-wide window-field">
              <legend>Maintenance window</legend>
              <div>
                <label className="check">
                  <input type="checkbox" checked={f.windowOn} onChange={(e) => set({ windowOn: e.target.checked })} />
                  Tell devices of their update only during a maintenance window
                </label>
              </div>
              {f.windowOn && (
                <div className="window-fields">
                  <label className="field">
                    <span>Opens</span>
                    <input type="time" required value={f.windowStart} onChange={(e) => set({ windowStart: e.target.value })} />
                  </label>
                  <label className="field">
                    <span>Closes</span>
                    <input type="time" required value={f.windowEnd} onChange={(e) => set({ windowEnd: e.target.value })} />
                  </label>
                  <label className="field field-grow">
                    <span>Time zone</span>
                    <input required list="dep-zones" value={f.timezone} onChange={(e) => set({ timezone: e.target.value })} spellCheck={false} />
                    <datalist id="dep-zones">
                      {zones.map((z) => (
                        <option key={z} value={z} />
                      ))}
                    </datalist>
                  </label>
                  <fieldset className="field">
                    <legend>Days</legend>
                    <div className="checks">
                      {WEEK.map((d) => (
                        <label key={d} className="check">
                          <input
                            type="checkbox"
                            checked={f.days.includes(d)}
                            onChange={(e) => set({ days: e.target.checked ? [...f.days, d] : f.days.filter((x) => x !== d) })}
                          />
                          {WEEKDAYS[d]}
                        </label>
                      ))}
                    </div>
                  </fieldset>
                  <small className="muted field-wide">A window that closes before it opens runs past midnight. Updates already under way go on.</small>
                </div>
              )}
            </fieldset>
            <div className="field-wide">
              <label className="check">
                <input type="checkbox" checked={f.paused} onChange={(e) => set({ paused: e.target.checked })} />
                Create it paused: nothing is sent to devices until it is resumed
              </label>
            </div>
          </div>
          {error && (
            <p className="notice notice-error" role="alert" data-testid="deployment-error">
              {error}
            </p>
          )}
          <div className="form-actions">
            <Link className="btn" to="/deployments">
              Cancel
            </Link>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Starting…' : f.paused ? 'Create paused' : 'Start deployment'}
            </button>
          </div>
        </form>
      </Section>
    </>
  );
}
