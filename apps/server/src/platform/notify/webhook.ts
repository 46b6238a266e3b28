import { createHmac } from 'node:crypto';

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
