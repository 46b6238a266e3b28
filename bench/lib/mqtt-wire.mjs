/**
 * A minimal MQTT 3.1.1 client on a raw socket, for load generation only.
 *
 * mqtt.js costs tens of microseconds per publish; on a 2-core machine that CPU
 * is taken from the server under test. This client encodes a PUBLISH with one
 * Buffer.concat and reads PUBACKs as 4-byte frames, so the generators stay a
 * small share of the machine. It speaks only what the benchmarks need:
 * CONNECT/CONNACK, PUBLISH QoS 0/1, PUBACK, SUBSCRIBE/SUBACK, PINGREQ.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';

const CONNECT = 0x10;
const CONNACK = 0x20;
const PUBLISH = 0x30;
const PUBACK = 0x40;
const SUBSCRIBE = 0x82;
const SUBACK = 0x90;
const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = 0xd0;

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s) => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

export function encodeConnect({ clientId, username, password, keepalive = 60, clean = true }) {
  let flags = clean ? 0x02 : 0;
  const parts = [str('MQTT'), Buffer.from([4]), null, Buffer.from([keepalive >> 8, keepalive & 0xff]), str(clientId)];
  if (username !== undefined) {
    flags |= 0x80;
    parts.push(str(username));
  }
  if (password !== undefined) {
    flags |= 0x40;
    parts.push(str(password));
  }
  parts[2] = Buffer.from([flags]);
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([CONNECT]), varint(body.length), body]);
}

/** Pre-encodes the topic once; `encode(payload, id)` then builds a whole PUBLISH frame. */
export function publishEncoder(topic, qos) {
  const t = str(topic);
  const head = Buffer.from([PUBLISH | (qos << 1)]);
  return (payload, id) => {
    const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    const len = t.length + (qos ? 2 : 0) + p.length;
    if (!qos) return Buffer.concat([head, varint(len), t, p]);
    return Buffer.concat([head, varint(len), t, Buffer.from([id >> 8, id & 0xff]), p]);
  };
}

export function encodeSubscribe(id, topic, qos) {
  const body = Buffer.concat([Buffer.from([id >> 8, id & 0xff]), str(topic), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([SUBSCRIBE]), varint(body.length), body]);
}

/**
 * One connection. Events are plain callbacks (no EventEmitter) to keep the
 * per-packet path short: onPuback(id), onPublish(topic, payload), onClose(err).
 */
export class WireClient {
  constructor(socket) {
    this.socket = socket;
    this.buf = null;
    this.onPuback = null;
    this.onPublish = null;
    this.onClose = null;
    this.closed = false;
    this.connack = null;
    this.pending = new Map();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.data(chunk));
    const closed = (err) => {
      if (this.closed) return;
      this.closed = true;
      if (this.connack) this.connack.reject(err ?? new Error('closed before CONNACK'));
      for (const w of this.pending.values()) w.reject(err ?? new Error('closed'));
      this.pending.clear();
      this.onClose?.(err ?? null);
    };
    socket.on('error', (err) => closed(err));
    socket.on('close', () => closed(null));
  }

  static connect({ host, port, clientId, username, password, keepalive, timeoutMs = 30_000 }) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const c = new WireClient(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('CONNACK timeout'));
      }, timeoutMs);
      c.connack = {
        resolve: () => {
          clearTimeout(timer);
          c.connack = null;
          resolve(c);
        },
        reject: (err) => {
          clearTimeout(timer);
          c.connack = null;
          reject(err);
        },
      };
      socket.once('connect', () => socket.write(encodeConnect({ clientId, username, password, keepalive })));
    });
  }

  data(chunk) {
    let b = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (b.length - off < 2) break;
      const type = b[off];
      // Remaining length: 1–4 bytes.
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let complete = false;
      for (; i < b.length && i < off + 5; i++) {
        len += (b[i] & 0x7f) * mul;
        mul *= 128;
        if ((b[i] & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || b.length - i < len) break;
      const start = i;
      off = i + len;
      switch (type & 0xf0) {
        case PUBACK:
          this.onPuback?.((b[start] << 8) | b[start + 1]);
          break;
        case CONNACK: {
          const rc = b[start + 1];
          if (this.connack) {
            if (rc === 0) this.connack.resolve();
            else {
              this.connack.reject(new Error(`CONNACK return code ${rc}`));
              this.socket.destroy();
            }
          }
          break;
        }
        case PUBLISH: {
          const qos = (type >> 1) & 3;
          const tlen = (b[start] << 8) | b[start + 1];
          const topic = b.toString('utf8', start + 2, start + 2 + tlen);
          let p = start + 2 + tlen;
          if (qos) {
            const id = (b[p] << 8) | b[p + 1];
            p += 2;
            this.socket.write(Buffer.from([PUBACK, 2, id >> 8, id & 0xff]));
          }
          this.onPublish?.(topic, b.subarray(p, start + len));
          break;
        }
        case SUBACK: {
          const id = (b[start] << 8) | b[start + 1];
          const w = this.pending.get(`sub${id}`);
          this.pending.delete(`sub${id}`);
          if (w && b[start + 2] & 0x80) w.reject(new Error('SUBACK refused'));
          else w?.resolve();
          break;
        }
        case PINGRESP:
        default:
          break;
      }
    }
    this.buf = off < b.length ? b.subarray(off) : null;
    if (this.buf && off > 0) this.buf = Buffer.from(this.buf);
  }

  subscribe(topic, qos = 0, id = 1) {
    return new Promise((resolve, reject) => {
      this.pending.set(`sub${id}`, { resolve, reject });
      this.socket.write(encodeSubscribe(id, topic, qos));
    });
  }

  ping() {
    if (!this.closed) this.socket.write(PINGREQ);
  }

  /** Writes a frame; returns false when the socket buffer is above its high-water mark. */
  write(frame) {
    return this.socket.write(frame);
  }

  get writableLength() {
    return this.socket.writableLength;
  }

  close() {
    if (!this.closed) this.socket.end(Buffer.from([0xe0, 0x00]));
  }

  destroy() {
    this.socket.destroy();
  }
}
