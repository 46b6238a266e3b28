/** Why a new MQTT connection was closed at once. */
export type ConnectionRefusal = 'pending_per_ip' | 'pending_total' | 'per_ip';

export interface ConnectionCaps {
  /** Connections from one IP that have not signed in yet (TCP accepted, no CONNACK). */
  pendingPerIp: number;
  /** The same over every IP. */
  pendingTotal: number;
  /** Every open connection from one IP; 0 is no cap (thousands of devices can share a carrier NAT). */
  perIp: number;
}

/**
 * Counts MQTT connections by peer IP, so that sockets that never sign in cannot
 * use up the server's file descriptors and memory: past a cap, a new
 * connection is closed before a byte of it is read. A connection that has not
 * sent CONNECT is closed by the broker's connect timeout anyway; these caps
 * bound how many can wait for it.
 */
export class ConnectionLimits {
  private readonly pendingByIp = new Map<string, number>();
  private readonly openByIp = new Map<string, number>();
  private pending = 0;

  constructor(private readonly caps: ConnectionCaps) {}

  /** A new connection from `ip`: null when it may go on (and it is counted as pending), or why not. */
  admit(ip: string): ConnectionRefusal | null {
    if (this.caps.perIp > 0 && (this.openByIp.get(ip) ?? 0) >= this.caps.perIp) return 'per_ip';
    if ((this.pendingByIp.get(ip) ?? 0) >= this.caps.pendingPerIp) return 'pending_per_ip';
    if (this.pending >= this.caps.pendingTotal) return 'pending_total';
    bump(this.openByIp, ip, 1);
    bump(this.pendingByIp, ip, 1);
    this.pending++;
    return null;
  }

  /** The connection from `ip` signed in. */
  signedIn(ip: string): void {
    bump(this.pendingByIp, ip, -1);
    this.pending--;
  }

  /** The connection from `ip` closed, signed in or not. */
  closed(ip: string, wasPending: boolean): void {
    if (wasPending) this.signedIn(ip);
    bump(this.openByIp, ip, -1);
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
