import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, useSearchParams } from '../../lib/router';
import { Async } from '../../components/ui/state-views';
import { searchProperties } from './metadata';

const LIMIT = 50;

/**
 * Devices and projects by property (`?prop=serial&pvalue=SN-*`, kept in the
 * URL like the other filters). The search answers ids; names are looked up.
 */
export function PropertySearch({ projectNames }: { projectNames: Map<string, string> }) {
  const { client } = useSession();
  const [params, setParams] = useSearchParams();
  const prop = params.get('prop') ?? '';
  const pvalue = params.get('pvalue') ?? '';
  const [name, setName] = useState(prop);
  const [value, setValue] = useState(pvalue);
  useEffect(() => {
    setName(prop);
    setValue(pvalue);
  }, [prop, pvalue]);
  const active = Boolean(prop || pvalue);
  // Folded away until used, so the device list stays at the top of the page; a search in the URL opens it.
  const [open, setOpen] = useState(active);
  useEffect(() => {
    if (active) setOpen(true);
  }, [active]);

  const state = useAsync(async () => {
    if (!active) return null;
    const { items } = await searchProperties(client, { name: prop || undefined, value: pvalue || undefined, limit: LIMIT });
    const deviceIds = [...new Set(items.filter((i) => i.entityKind === 'device').map((i) => i.entityId))];
    const names = new Map(
      await Promise.all(
        deviceIds.map(async (id) => {
          try {
            return [id, (await client.devices.get(id)).name] as const;
          } catch (e) {
            if (e instanceof ApiError && e.status === 404) return [id, null] as const;
            throw e;
          }
        }),
      ),
    );
    return items.map((i) => ({ ...i, label: i.entityKind === 'device' ? names.get(i.entityId) : projectNames.get(i.entityId) }));
  }, [client, prop, pvalue, active, projectNames]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ prop: name.trim() || null, pvalue: value.trim() || null });
  };

  return (
    <details className="card property-search" id="property-search" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <h2 id="property-search-title">Find by property</h2>
      </summary>
      <form className="filters" role="search" aria-labelledby="property-search-title" onSubmit={submit}>
        <label className="field">
          <span>Property name</span>
          <input name="prop" value={name} onChange={(e) => setName(e.target.value)} placeholder="serial" autoComplete="off" />
        </label>
        <label className="field field-grow">
          <span>Value</span>
          <input
            name="pvalue"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            placeholder="SN-1234 or SN-*"
            autoComplete="off"
            aria-describedby="property-search-help"
          />
        </label>
        <button type="submit" className="btn" disabled={!name.trim() && !value.trim()}>
          Search
        </button>
        {active && (
          <button type="button" className="btn btn-ghost" onClick={() => setParams({ prop: null, pvalue: null })}>
            Clear
          </button>
        )}
        <small id="property-search-help" className="muted filters-help">
          Exact value, or end it with * to match a prefix. Either field alone works.
        </small>
      </form>
      {active && (
        <Async state={state} loadingLabel="Searching properties…">
          {(items) =>
            !items || items.length === 0 ? (
              <p className="muted" role="status">
                Nothing has {prop ? <code>{prop}</code> : 'a property'}
                {pvalue ? (
                  <>
                    {' '}
                    = <code>{pvalue}</code>
                  </>
                ) : null}
                .
              </p>
            ) : (
              <ul className="list" aria-label="Property matches" data-testid="property-matches">
                {items.map((m) => (
                  <li key={`${m.entityKind}-${m.entityId}-${m.name}`} className="list-row">
                    <span>
                      <span className="badge">{m.entityKind}</span>{' '}
                      <Link to={`/${m.entityKind === 'device' ? 'devices' : 'projects'}/${m.entityId}`} className="strong">
                        {m.label ?? `${m.entityKind} ${m.entityId.slice(0, 8)}…`}
                      </Link>
                    </span>
                    <span className="muted">
                      <code>{m.name}</code> = <code>{m.value}</code>
                    </span>
                  </li>
                ))}
                {items.length >= LIMIT && <li className="muted small list-row">The first {LIMIT} matches; narrow the search to see others.</li>}
              </ul>
            )
          }
        </Async>
      )}
    </details>
  );
}
