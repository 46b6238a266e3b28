/** A tiny SVG line for a series of counts; the numbers are in the text beside it. */
export function Sparkline({ values, label, width = 240, height = 48 }: { values: number[]; label: string; width?: number; height?: number }) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (v: number) => height - 2 - (v / max) * (height - 4);
  const line = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const area = values.length ? `${line} L${((values.length - 1) * step).toFixed(1)},${height} L0,${height} Z` : '';
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <path d={area} className="sparkline-area" />
      <path d={line} className="sparkline-line" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}
