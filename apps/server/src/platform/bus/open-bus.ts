import type { Logger } from '../observability/logger.js';
import { EventBus, type BusCounter, type BusEngine } from './event-bus.js';
import { NatsBusEngine } from './nats-engine.js';
import { PostgresBusEngine } from './postgres-engine.js';
import { RedisBusEngine } from './redis-engine.js';

/**
 * The bus a node's configuration asks for: TETHER_BUS_URL (NATS or Redis) if
 * set; else PostgreSQL's LISTEN/NOTIFY when the node runs on PostgreSQL (so
 * nodes sharing a database find each other with nothing else to run); else,
 * embedded, the in-process bus.
 */
export function openBus<M extends object>(opts: {
  busUrl: string | null;
  databaseUrl: string | null;
  channel: string;
  logger: Logger;
  count?: BusCounter;
}): EventBus<M> {
  const { busUrl, databaseUrl, channel, logger } = opts;
  let engine: BusEngine | null = null;
  if (busUrl?.startsWith('nats:')) engine = new NatsBusEngine(busUrl, `${channel}.events`, logger);
  else if (busUrl?.startsWith('redis:') || busUrl?.startsWith('rediss:')) engine = new RedisBusEngine(busUrl, `${channel}:events`, logger);
  else if (databaseUrl) engine = new PostgresBusEngine(databaseUrl, channel, logger);
  return new EventBus<M>(engine, logger, opts.count);
}
