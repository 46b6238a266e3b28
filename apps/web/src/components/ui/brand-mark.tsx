/** The Tether mark (also the favicon): two nodes and their link. */
export function BrandMark() {
  return (
    <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="#0f766e" />
      <circle cx="10" cy="22" r="4" fill="#fff" />
      <circle cx="22" cy="10" r="4" fill="#fff" />
      <path d="M12.5 19.5l7-7" stroke="#fff" strokeWidth="3" strokeLinecap="round" />
    </svg>
  );
}
