import { useMemo, useState } from 'react';
import type { AlarmRule } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { Section } from '../../components/ui/page';
import { SeverityBadge } from '../../components/ui/badges';
import { Async, EmptyState } from '../../components/ui/state-views';
import { ConfirmDialog, Dialog } from '../../components/ui/dialog';
import { useProjects } from '../devices/use-projects';
import { KIND_LABEL, ruleSummary } from './alarm-format';
import { RuleFormView, type ScopeChoices } from './rule-form';

/** Scope choices (projects, templates, devices) and notification targets, with name lookups for the list. */
function useRuleContext() {
  const { client } = useSession();
  const { projects } = useProjects();
  const templates = useAsync(async () => (await client.templates.list()).items, [client]);
  const devices = useAsync(async () => (await client.devices.list({ limit: 500 })).items, [client]);
  const targets = useAsync(async () => (await client.notificationTargets.list()).items, [client]);
  return useMemo(() => {
    const choices: ScopeChoices = { projects, templates: templates.data ?? [], devices: devices.data ?? [] };
    const names = new Map<string, string>([...choices.projects, ...choices.templates, ...choices.devices].map((x) => [x.id, x.name]));
    const targetList = targets.data ?? [];
    const targetNames = new Map(targetList.map((t) => [t.id, t.name]));
    return { choices, names, targets: targetList, targetNames };
  }, [projects, templates.data, devices.data, targets.data]);
}

function ScopeText({ rule, names }: { rule: AlarmRule; names: Map<string, string> }) {
  if (rule.scope === 'org') return <>whole org</>;
  const name = rule.scopeId ? (names.get(rule.scopeId) ?? '…') : '?';
  if (rule.scope === 'device' && rule.scopeId) return <Link to={`/devices/${rule.scopeId}`}>device {name}</Link>;
  if (rule.scope === 'project' && rule.scopeId) return <Link to={`/projects/${rule.scopeId}`}>project {name}</Link>;
  return <>template {name}</>;
}

export function RulesPanel() {
  const { client, can } = useSession();
  const state = useAsync(() => client.alarmRules.list(), [client]);
  const { choices, names, targets, targetNames } = useRuleContext();
  const [editing, setEditing] = useState<AlarmRule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<AlarmRule | null>(null);

  return (
    <Section
      title="Rules"
      id="rules"
      actions={
        can.manageAlarmRules && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        )
      }
    >
      <p className="muted small">
        A rule watches the devices of the org, a project, a template or one device. Of the rules of one name, the most specific that covers a device applies.
      </p>
      <Async state={state} loadingLabel="Loading rules…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No rules yet">
              <p>{can.manageAlarmRules ? 'Make one with “New rule”: e.g. temperature above 80 for 5 minutes.' : 'An admin makes rules.'}</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Alarm rules">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Condition</th>
                    <th scope="col">Severity</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Notify</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((r) => (
                    <tr key={r.id} data-rule-id={r.id}>
                      <td data-label="Name" className="strong">
                        {r.name}
                      </td>
                      <td data-label="Scope">
                        <ScopeText rule={r} names={names} />
                      </td>
                      <td data-label="Kind">{KIND_LABEL[r.kind]}</td>
                      <td data-label="Condition">{ruleSummary(r)}</td>
                      <td data-label="Severity">
                        <SeverityBadge severity={r.severity} />
                      </td>
                      <td data-label="Enabled">{r.enabled ? 'yes' : <span className="badge badge-offline">disabled</span>}</td>
                      <td data-label="Notify">
                        {r.notify.length ? r.notify.map((id) => targetNames.get(id) ?? '…').join(', ') : <span className="muted">—</span>}
                      </td>
                      <td data-label="Actions">
                        {can.manageAlarmRules && (
                          <span className="row-actions">
                            <button type="button" className="btn btn-small" onClick={() => setEditing(r)}>
                              Edit<span className="visually-hidden"> {r.name}</span>
                            </button>
                            <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(r)}>
                              Delete<span className="visually-hidden"> {r.name}</span>
                            </button>
                          </span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      <Dialog open={editing !== null} title={editing === 'new' ? 'New rule' : `Edit “${editing?.name ?? ''}”`} onClose={() => setEditing(null)} wide>
        {editing !== null && (
          <RuleFormView
            key={editing === 'new' ? 'new' : editing.id}
            rule={editing === 'new' ? null : editing}
            choices={choices}
            targets={targets}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              state.reload();
            }}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete rule “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete rule"
        onConfirm={async () => {
          await client.alarmRules.delete(deleting!.id);
          state.reload();
        }}
        onClose={() => setDeleting(null)}
      >
        <p>It raises no more alarms. Its alarms stay, with their history.</p>
      </ConfirmDialog>
    </Section>
  );
}
