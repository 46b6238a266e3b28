/**
 * Mosquitto-side consumer for scenario 2: one client on a shared subscription,
 * counting what it receives (the "no storage" end of the physical limit).
 * IPC: ← start(config) → subscribed; ← stop → done.
 */
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { WireClient } from '../lib/mqtt-wire.mjs';

let received = 0;
let client = null;

process.on('message', async (m) => {
  if (m.type === 'start') {
    const { host, port, topic, qos } = m.config;
    client = await WireClient.connect({ host, port, clientId: `bench-sub-${process.pid}`, keepalive: 120 });
    client.onPublish = () => received++;
    await client.subscribe(topic, qos);
    process.send({ type: 'subscribed' });
  } else if (m.type === 'stop') {
    // Whatever is still on its way arrives within a moment.
    await new Promise((r) => setTimeout(r, 1000));
    process.send({ type: 'done', received });
    client?.close();
  } else if (m.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
