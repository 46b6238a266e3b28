import { useId, useState } from 'react';

async function copyText(text: string, fallbackFrom: HTMLElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API outside secure contexts (plain http on a LAN address): select the text instead.
    if (!fallbackFrom) return false;
    const range = document.createRange();
    range.selectNodeContents(fallbackFrom);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    return document.execCommand?.('copy') ?? false;
  }
}

/** A value or command with a copy button. */
export function CopyBlock({ label, value, multiline = false, testId }: { label: string; value: string; multiline?: boolean; testId?: string }) {
  const id = useId();
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const onCopy = async () => {
    const ok = await copyText(value, document.getElementById(id));
    setCopied(ok ? 'yes' : 'no');
    setTimeout(() => setCopied(null), 2000);
  };
  return (
    <div className="copy-block">
      <div className="copy-head">
        <span className="copy-label" id={`${id}-label`}>
          {label}
        </span>
        <button type="button" className="btn btn-small" onClick={onCopy} aria-describedby={`${id}-label`}>
          {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Select and copy' : 'Copy'}
        </button>
      </div>
      {multiline ? (
        <pre id={id} className="code" tabIndex={0} aria-labelledby={`${id}-label`} data-testid={testId}>
          <code>{value}</code>
        </pre>
      ) : (
        <code id={id} className="code code-inline" data-testid={testId}>
          {value}
        </code>
      )}
      <span className="visually-hidden" aria-live="polite">
        {copied === 'yes' ? `${label} copied` : ''}
      </span>
    </div>
  );
}
