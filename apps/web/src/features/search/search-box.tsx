import { useEffect, useId, useRef, useState, type FocusEvent, type KeyboardEvent } from 'react';
import { useSession } from '../../app/session';
import { describeError } from '../../components/ui/state-views';
import { Link, navigate } from '../../lib/router';
import { useAsync } from '../../lib/use-async';
import { useDebounced } from '../../lib/use-debounced';
import { GROUP_TITLES, devicesMatchingHref, highlight, searchOptions, type SearchGroup, type SearchOption } from './search-options';

/** Choices per group in the dropdown; "See all devices matching" shows the rest of the devices. */
const LIMIT = 5;
const DEBOUNCE_MS = 250;
/** As GET /search takes it. */
const MAX_LENGTH = 200;

const isEditable = (el: EventTarget | null) => el instanceof HTMLElement && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));

function Label({ option, q }: { option: SearchOption; q: string }) {
  const parts = option.group ? highlight(option.label, q) : null;
  if (!parts) return <span className="global-search-label">{option.label}</span>;
  return (
    <span className="global-search-label">
      {parts[0]}
      <mark>{parts[1]}</mark>
      {parts[2]}
    </span>
  );
}

/**
 * The top bar's search (issue 17): devices, projects and properties found
 * while one types, in a dropdown grouped by kind (an ARIA combobox: arrows
 * move, Enter opens, Escape closes). Enter with nothing chosen opens the device list
 * filtered by the text. "/" anywhere else focuses it.
 */
export function SearchBox({ onNavigate }: { onNavigate?(): void }) {
  const { client } = useSession();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const q = useDebounced(text.trim(), DEBOUNCE_MS);
  const state = useAsync(async () => (q ? { q, results: await client.search({ q, limit: LIMIT }) } : null), [client, q]);
  const answer = state.data;
  const options = answer ? searchOptions(answer.q, answer.results) : [];
  const found = options.length - 1;
  useEffect(() => setActive(-1), [answer]);

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || isEditable(e.target) || !input.current?.offsetParent) return;
      e.preventDefault();
      input.current.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const shown = open && text.trim() !== '';
  const listId = `${id}-results`;
  const optionId = (i: number) => `${id}-option-${i}`;

  const done = () => {
    setOpen(false);
    setText('');
    input.current?.blur();
    onNavigate?.();
  };
  const go = (href: string) => {
    navigate(href);
    done();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((a) => (a < 0 ? (step > 0 ? 0 : options.length - 1) : (a + step + options.length) % options.length));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const chosen = shown && active >= 0 ? options[active] : undefined;
      if (chosen) go(chosen.href);
      else if (text.trim()) go(devicesMatchingHref(text.trim()));
    } else if (e.key === 'Escape' && shown) {
      // A search field clears itself on Escape; the first one only closes the list.
      e.preventDefault();
      setOpen(false);
    }
  };

  const onBlur = (e: FocusEvent<HTMLDivElement>) => {
    if (!e.currentTarget.contains(e.relatedTarget)) setOpen(false);
  };

  const status = !shown
    ? ''
    : state.error && !state.loading
      ? `Search failed: ${describeError(state.error)}`
      : !answer || state.loading
        ? 'Searching…'
        : found === 0
          ? `Nothing found for “${answer.q}”.`
          : `${found} found`;

  const groups = (['devices', 'projects', 'properties'] as SearchGroup[]).filter((g) => options.some((o) => o.group === g));
  const optionLink = (o: SearchOption) => {
    const i = options.indexOf(o);
    return (
      <Link
        key={o.key}
        to={o.href}
        id={optionId(i)}
        role="option"
        aria-selected={i === active}
        tabIndex={-1}
        className={o.group ? 'global-search-option' : 'global-search-option global-search-all'}
        // Keeps the focus in the input, so the click lands and the list stays a combobox's.
        onMouseDown={(e) => e.preventDefault()}
        onMouseMove={() => i !== active && setActive(i)}
        onClick={done}
      >
        <Label option={o} q={answer?.q ?? ''} />
        {o.detail && <span className="global-search-detail">{o.detail}</span>}
      </Link>
    );
  };

  return (
    <div className={shown ? 'global-search global-search-open' : 'global-search'} role="search" onBlur={onBlur}>
      {/* Just "Search": fields are found by the words of their labels, and one holding "projects" would answer as a Project field. */}
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Search
      </label>
      <span id={`${id}-hint`} className="visually-hidden">
        Finds devices, projects and properties. Press slash to come back here.
      </span>
      <div className="global-search-field">
        <svg className="global-search-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
          <circle cx="8.5" cy="8.5" r="5.5" fill="none" stroke="currentColor" strokeWidth="2" />
          <path d="M13 13l4.5 4.5" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
        <input
          ref={input}
          id={`${id}-input`}
          type="search"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={shown}
          aria-controls={listId}
          aria-activedescendant={shown && active >= 0 ? optionId(active) : undefined}
          aria-describedby={`${id}-hint ${id}-status`}
          autoComplete="off"
          spellCheck={false}
          maxLength={MAX_LENGTH}
          placeholder="Search"
          title="Search devices, projects and properties (/)"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
          }}
          onFocus={() => setOpen(true)}
          onKeyDown={onKeyDown}
        />
      </div>
      <div className="global-search-panel" hidden={!shown}>
        <p id={`${id}-status`} className={found > 0 && !state.loading ? 'visually-hidden' : 'global-search-status'} role="status" aria-live="polite">
          {status}
        </p>
        <div id={listId} role="listbox" aria-label="Search results">
          {groups.map((g) => (
            <div key={g} role="group" aria-labelledby={`${id}-${g}`}>
              <div id={`${id}-${g}`} className="global-search-group" role="presentation">
                {GROUP_TITLES[g]}
              </div>
              {options.filter((o) => o.group === g).map(optionLink)}
            </div>
          ))}
          {answer && options.filter((o) => o.group === null).map(optionLink)}
        </div>
      </div>
    </div>
  );
}
