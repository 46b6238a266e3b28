/**
 * Scenario 11's local webhook receiver, a child process of its own (its CPU is
 * measured apart): answers every POST with 204 at once and records when each
 * alarm event arrived, with the alarm's value, which for a raise is the unique
 * hot value the scenario published.
 *
 * Protocol with the parent (IPC): ← start → listening(port) … ← stop → done(events).
 */
import http from 'node:http';
import process from 'node:process';

const send = (m) => process.send?.(m);
/** [event, alarm value, arrival ms, delivery id] per request. */
const events = [];
let bad = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    res.writeHead(204).end();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      events.push([body.event, body.alarm?.value ?? null, at, req.headers['x-tether-delivery'] ?? null]);
    } catch {
      bad++;
    }
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (m) => {
  if (m.type === 'start') server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));
  else if (m.type === 'count') send({ type: 'count', n: events.length });
  else if (m.type === 'stop') send({ type: 'done', events, bad });
  else if (m.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
