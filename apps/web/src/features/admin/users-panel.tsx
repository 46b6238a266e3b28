import { useState, type FormEvent } from 'react';
import type { Role, User } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { atLeast } from '../../lib/roles';
import { formatDateTime } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, describeError } from '../../components/ui/state-views';
import { ConfirmDialog, Dialog } from '../../components/ui/dialog';
import { Pagination } from '../../components/ui/pagination';
import { RoleBadge } from '../../components/ui/badges';

const LIMIT = 50;

function CreateUserForm({ grantable, onDone, onCancel }: { grantable: Role[]; onDone(u: User): void; onCancel(): void }) {
  const { client } = useSession();
  const [form, setForm] = useState({ email: '', name: '', password: '', role: 'viewer' as Role });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await client.users.create({ email: form.email.trim(), name: form.name.trim() || undefined, password: form.password, role: form.role }));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit}>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <label className="field">
        <span>Email</span>
        <input type="email" required autoComplete="off" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} autoFocus />
      </label>
      <label className="field">
        <span>Name</span>
        <input maxLength={200} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      </label>
      <label className="field">
        <span>Initial password</span>
        <input
          type="password"
          required
          autoComplete="new-password"
          minLength={8}
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
      </label>
      <label className="field">
        <span>Role</span>
        <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          {grantable.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add user'}
        </button>
      </div>
    </form>
  );
}

export function UsersPanel() {
  const { client, user: me, org, orgs, role, can, signOut, switchOrg } = useSession();
  const [offset, setOffset] = useState(0);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<User | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const state = useAsync(() => client.users.list({ limit: LIMIT, offset }), [client, offset]);

  const update = async (u: User, patch: { role?: Role; disabled?: boolean }) => {
    setRowError(null);
    try {
      const saved = await client.users.update(u.id, patch);
      state.setData((page) => page && { ...page, items: page.items.map((x) => (x.id === saved.id ? saved : x)) });
    } catch (e) {
      setRowError({ id: u.id, message: describeError(e) });
    }
  };

  return (
    <Section
      title="Users and roles"
      id="users"
      actions={
        can.manageUsers && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setAdding(true)}>
            Add user
          </button>
        )
      }
    >
      <p className="muted small">Owner and admin manage users, API keys, projects and devices; operators edit devices; viewers only read.</p>
      <Async state={state} loadingLabel="Loading users…">
        {(page) => (
          <>
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Users">
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Added</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((u) => {
                    const self = u.id === me.id;
                    const editable = can.manageUsers && !self && atLeast(role, u.role);
                    return (
                      <tr key={u.id}>
                        <td data-label="User">
                          <div>
                            <div className="strong">
                              {u.name || u.email} {self && <span className="badge">you</span>}
                            </div>
                            {u.name && <div className="muted small">{u.email}</div>}
                            {rowError?.id === u.id && (
                              <p className="field-error" role="alert">
                                {rowError.message}
                              </p>
                            )}
                          </div>
                        </td>
                        <td data-label="Role">
                          {editable ? (
                            <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => update(u, { role: e.target.value as Role })}>
                              {can.grantable.map((r) => (
                                <option key={r} value={r}>
                                  {r}
                                </option>
                              ))}
                            </select>
                          ) : (
                            <RoleBadge role={u.role} />
                          )}
                        </td>
                        <td data-label="Status">
                          <div>
                            {u.disabled ? <span className="badge badge-offline">disabled</span> : <span className="badge badge-online">active</span>}{' '}
                            {editable && (
                              <button type="button" className="btn btn-small" onClick={() => update(u, { disabled: !u.disabled })}>
                                {u.disabled ? 'Enable' : 'Disable'}
                                <span className="visually-hidden"> {u.email}</span>
                              </button>
                            )}
                          </div>
                        </td>
                        <td data-label="Added">{formatDateTime(u.createdAt)}</td>
                        <td data-label="Actions">
                          {(editable || self) && (
                            <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(u)}>
                              {self ? 'Leave org' : 'Remove'}
                              <span className="visually-hidden"> {u.email}</span>
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="User pages" />
          </>
        )}
      </Async>
      <ConfirmDialog
        open={removing !== null}
        title={removing?.id === me.id ? `Leave ${org.name}?` : `Remove ${removing?.email ?? ''}?`}
        confirmLabel={removing?.id === me.id ? 'Leave' : 'Remove'}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          const leaving = removing!.id === me.id;
          await client.users.remove(removing!.id);
          const other = orgs.find((o) => o.id !== org.id);
          if (!leaving) state.reload();
          else if (other) await switchOrg(other.id);
          else signOut(`You left ${org.name}.`);
        }}
      >
        <p>
          {removing?.id === me.id
            ? `You lose access to ${org.name} at once; your account and your other orgs stay.`
            : `${removing?.email ?? ''} loses access to ${org.name} at once. Their account stays (with any other orgs) and can be invited again.`}
        </p>
      </ConfirmDialog>
      <Dialog open={adding} title="Add a user" onClose={() => setAdding(false)}>
        <CreateUserForm
          grantable={can.grantable}
          onCancel={() => setAdding(false)}
          onDone={() => {
            setAdding(false);
            state.reload();
          }}
        />
      </Dialog>
    </Section>
  );
}
