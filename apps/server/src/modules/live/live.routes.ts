import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { LIVE_CHANNELS, type LiveChannel, type LiveClientMessage, type LiveServerMessage } from '@tether/contracts';
import type { App } from '../../platform/http/server.js';
import { AppError, isUuid } from '../errors.js';
import type { Actor } from '../accounts/actor.js';
import type { AccountsService } from '../accounts/accounts.service.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { LiveHub } from './live-hub.js';

export interface LiveOptions {
  hub: LiveHub;
  accounts: AccountsService;
  devices: DevicesService;
  projects: ProjectsService;
  metrics: Metrics;
  /** A socket whose unsent data grows past this is a slow consumer and is closed. */
  maxBufferedBytes?: number;
  pingIntervalMs?: number;
}

const MAX_SUBSCRIPTIONS = 100;
/** Frames written together: ws writes two buffers a frame, and a writev takes at most 1,024 (IOV_MAX). */
const FRAMES_PER_WRITE = 256;
const MAX_DEVICES_PER_SUBSCRIPTION = 1000;

/** `GET /api/v1/live`: the dashboards' WebSocket (architecture §5). */
export function liveRoutes(opts: LiveOptions) {
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  const pingMs = opts.pingIntervalMs ?? 30_000;

  return async (app: App) => {
    app.get(
      '/api/v1/live',
      { websocket: true, schema: { tags: ['live'], description: 'WebSocket. Authenticate with ?token=<access token or API key> or an Authorization header.' } },
      (socket: WebSocket, req) => {
        const subs = new Map<string, () => void>();
        let actor: Actor | null = null;
        let alive = true;
        let closed = false;
        opts.metrics.liveSockets.inc();

        /** Drops a socket whose unsent data is over the limit rather than let its queue grow without bound. */
        const droppedAsSlow = () => {
          if (socket.bufferedAmount <= maxBuffered) return false;
          socket.close(4008, 'slow consumer');
          opts.metrics.liveDropped.inc({ reason: 'slow_consumer' });
          cleanup();
          return true;
        };
        // A committed batch fans out as many events in one tick, and ws writes each frame at once,
        // a syscall each. The connection ws writes to (absent for injected test sockets) is corked
        // until the tick ends, so the batch goes out in few writes; the limit is checked after them.
        const conn: Writable | undefined = req.raw.socket ?? undefined;
        let corked = false;
        let corkedFrames = 0;
        const uncork = () => {
          corked = false;
          conn?.uncork();
          if (!closed) droppedAsSlow();
        };
        const send = (msg: LiveServerMessage) => {
          if (closed) return;
          if (!corked) {
            if (droppedAsSlow()) return;
            if (conn) {
              corked = true;
              corkedFrames = 0;
              conn.cork();
              process.nextTick(uncork);
            }
          }
          socket.send(JSON.stringify(msg));
          if (conn && ++corkedFrames === FRAMES_PER_WRITE) {
            // One writev takes at most IOV_MAX buffers; libuv writes the rest a loop turn at a time,
            // which a busy loop (PGlite's commits) cannot keep up with. Flush, and cork again.
            corkedFrames = 0;
            conn.uncork();
            conn.cork();
          }
        };
        const fail = (code: string, message: string) => send({ type: 'error', code, message });

        const cleanup = () => {
          if (closed) return;
          closed = true;
          clearInterval(ping);
          for (const off of subs.values()) off();
          subs.clear();
          opts.metrics.liveSockets.dec();
        };

        // Heartbeats find dead sockets: no pong within one interval closes the socket.
        const ping = setInterval(() => {
          if (!alive) {
            // A peer that stopped reading answers no ping either: its unsent data says which it is.
            if (droppedAsSlow()) return;
            socket.terminate();
            opts.metrics.liveDropped.inc({ reason: 'no_pong' });
            cleanup();
            return;
          }
          alive = false;
          socket.ping();
          // The socket outlives the check made when it opened: a member removed from the org (or
          // disabled), or an API key revoked, stops receiving within one interval.
          if (actor) {
            const who = actor;
            void opts.accounts.stillAllowed(who).then(
              (ok) => {
                if (ok || closed) return;
                fail('UNAUTHORIZED', 'access to this org has ended');
                socket.close(4001, 'unauthorized');
                cleanup();
              },
              () => {}, // a database hiccup is not a revocation: the next interval asks again
            );
          }
        }, pingMs);
        socket.on('pong', () => (alive = true));
        socket.on('close', cleanup);
        socket.on('error', cleanup);

        const query = req.query as { token?: string; access_token?: string };
        const header = req.headers.authorization;
        const token = query.token ?? query.access_token ?? (header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined);

        const ready = (async () => {
          if (!token) throw new AppError('UNAUTHORIZED', 'pass ?token=<access token> or an Authorization header');
          actor = await opts.accounts.authenticate(token);
          send({ type: 'ready', userId: actor.userId ?? '', orgId: actor.orgId });
        })().catch((err: unknown) => {
          const e = err instanceof AppError ? err : new AppError('UNAUTHORIZED', 'authentication failed');
          fail(e.code, e.message);
          socket.close(4001, 'unauthorized');
          cleanup();
        });

        const subscribe = async (msg: Extract<LiveClientMessage, { type: 'subscribe' }>) => {
          if (!actor) return;
          const id = msg.id ?? String(subs.size + 1);
          const channels = (msg.channels?.length ? msg.channels : LIVE_CHANNELS).filter((c): c is LiveChannel =>
            (LIVE_CHANNELS as readonly string[]).includes(c),
          );
          if (!channels.length) return fail('VALIDATION_FAILED', `channels must be among ${LIVE_CHANNELS.join(', ')}`);
          if (subs.size >= MAX_SUBSCRIPTIONS) return fail('VALIDATION_FAILED', `at most ${MAX_SUBSCRIPTIONS} subscriptions per socket`);
          let devices: Set<string> | null = null;
          let projectId: string | null = null;
          if (msg.devices !== undefined) {
            if (
              !Array.isArray(msg.devices) ||
              msg.devices.length > MAX_DEVICES_PER_SUBSCRIPTION ||
              msg.devices.some((d) => typeof d !== 'string' || !isUuid(d))
            ) {
              return fail('VALIDATION_FAILED', `devices must be an array of at most ${MAX_DEVICES_PER_SUBSCRIPTION} device ids`);
            }
            // Every device must be in the caller's org; another org's id is reported as not found.
            for (const d of msg.devices) await opts.devices.get(actor, d);
            devices = new Set(msg.devices.map((d) => d.toLowerCase()));
          } else if (msg.project !== undefined) {
            projectId = await opts.projects.assertInOrg(actor, msg.project);
          }
          subs.get(id)?.();
          subs.set(id, opts.hub.subscribe({ orgId: actor.orgId, devices, projectId, channels: new Set(channels), send }));
          send({ type: 'subscribed', id, devices: devices ? [...devices] : null, project: projectId, channels });
        };

        socket.on('message', (data) => {
          void ready.then(async () => {
            if (!actor || closed) return;
            let msg: LiveClientMessage;
            try {
              msg = JSON.parse(data.toString()) as LiveClientMessage;
            } catch {
              return fail('INVALID_PAYLOAD', 'messages must be JSON');
            }
            try {
              if (msg.type === 'subscribe') await subscribe(msg);
              else if (msg.type === 'unsubscribe') {
                subs.get(msg.id)?.();
                subs.delete(msg.id);
              } else if (msg.type === 'ping') send({ type: 'pong' });
              else fail('VALIDATION_FAILED', 'type must be subscribe, unsubscribe or ping');
            } catch (err) {
              if (err instanceof AppError) fail(err.code, err.message);
              else fail('INTERNAL', 'internal error');
            }
          });
        });
      },
    );
  };
}
