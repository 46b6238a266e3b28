import { useId, useState, type FormEvent } from 'react';
import { RANGE_PRESETS, type RangeSelection } from '../../lib/telemetry-range';
import { fromDateTimeLocal, timeZoneLabel, toDateTimeLocal } from '../../lib/time';

/** Last 15 min, 1 h, 24 h, 7 d, or a custom window in local time. */
export function RangePicker({ value, onChange }: { value: RangeSelection; onChange(v: RangeSelection): void }) {
  const name = useId();
  const [custom, setCustom] = useState(value.kind === 'custom');
  const [from, setFrom] = useState(() => toDateTimeLocal(value.kind === 'custom' ? value.from : Date.now() - 6 * 3_600_000));
  const [to, setTo] = useState(() => toDateTimeLocal(value.kind === 'custom' ? value.to : Date.now()));
  const [error, setError] = useState<string | null>(null);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const f = fromDateTimeLocal(from);
    const t = fromDateTimeLocal(to);
    if (Number.isNaN(f) || Number.isNaN(t)) return setError('Enter both a start and an end.');
    if (f >= t) return setError('The start must be before the end.');
    setError(null);
    onChange({ kind: 'custom', from: f, to: t });
  };

  return (
    <div className="range-picker">
      <fieldset className="segmented">
        <legend className="visually-hidden">Time range</legend>
        {RANGE_PRESETS.map((p) => (
          <label key={p.id} className="segment">
            <input
              type="radio"
              name={name}
              checked={!custom && value.kind === 'preset' && value.preset === p.id}
              onChange={() => {
                setCustom(false);
                onChange({ kind: 'preset', preset: p.id });
              }}
            />
            <span>
              <span className="visually-hidden">Last </span>
              {p.label}
            </span>
          </label>
        ))}
        <label className="segment">
          <input type="radio" name={name} checked={custom} onChange={() => setCustom(true)} />
          <span>Custom</span>
        </label>
      </fieldset>
      {custom && (
        <form className="range-custom" onSubmit={apply}>
          <label className="field">
            <span>From</span>
            <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
          </label>
          <label className="field">
            <span>To</span>
            <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
          </label>
          <button type="submit" className="btn">
            Apply
          </button>
          {error && (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      <p className="muted small range-zone">Times in {timeZoneLabel()}.</p>
    </div>
  );
}
