import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';

/**
 * Whether a URL's host is this machine: a loopback address (127.0.0.0/8, ::1),
 * an unspecified one (0.0.0.0, ::), an address of one of its interfaces, or a
 * name that resolves to one of those. A name that does not resolve is not.
 */
export async function isThisMachine(hostname: string): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      return false;
    }
  }
  const own = new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .map((i) => i?.address),
  );
  return addresses.some((a) => {
    const v4 = a.toLowerCase().startsWith('::ffff:') ? a.slice(7) : a;
    return v4.startsWith('127.') || ['0.0.0.0', '::', '::1'].includes(v4) || own.has(v4) || own.has(a);
  });
}

/** The signature a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with the target's secret, hex. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/**
 * POSTs a JSON body, signed (X-Tether-Timestamp, X-Tether-Signature). A 2xx is
 * delivered; anything else, a network error or no answer within `timeoutMs` is
 * a failure with its reason. Redirects are not followed.
 */
export async function postWebhook(
  url: string,
  secret: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = 10_000,
  /** Aborts the request (the server is stopping). */
  stop?: AbortSignal,
): Promise<WebhookResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Tether-Webhook/1',
        'x-tether-timestamp': String(timestamp),
        'x-tether-signature': webhookSignature(secret, timestamp, body),
        ...headers,
      },
      body,
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true, status: res.status, error: null } : { ok: false, status: res.status, error: `HTTP ${res.status} ${res.statusText}`.trim() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { ok: false, status: null, error: reason };
  }
}
