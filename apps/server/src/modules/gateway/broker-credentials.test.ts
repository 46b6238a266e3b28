/**
 * The ACLs given to Mosquitto for a device (one dynamic-security role each)
 * say exactly what deviceMay says, topic by topic. Mosquitto's matching
 * (mosquitto_topic_matches_sub for publishes, sub_acl_check for subscriptions)
 * is written out here for the cases the table uses.
 */
import { describe, expect, it } from 'vitest';
import { deviceRoleAcls } from './broker-credentials.js';
import { deviceMay } from './routes.js';

/** MQTT filter matching (MQTT-4.7): `+` one level, `#` the rest. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A subscription falls within a pattern if the pattern matches it with its wildcards taken as plain levels, `#` covering only `#`. */
function subscriptionWithin(pattern: string, sub: string): boolean {
  const p = pattern.split('/');
  const s = sub.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= s.length) return false;
    if (s[i] === '#') return false;
    if (p[i] !== '+' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const ID = '0a2f7252-9729-4e4b-bacb-7a86f634d52f';
const OTHER = '71a9d899-6cb6-4f5f-b97a-92b1e5c007d9';
const brokerAllows = (action: 'publish' | 'subscribe', topic: string) => {
  const acls = deviceRoleAcls(ID);
  if (action === 'publish') return acls.some((a) => a.acltype === 'publishClientSend' && a.allow && matches(a.topic, topic));
  return acls.some(
    (a) => a.allow && ((a.acltype === 'subscribeLiteral' && a.topic === topic) || (a.acltype === 'subscribePattern' && subscriptionWithin(a.topic, topic))),
  );
};

const paths = [
  'telemetry',
  'alerts',
  'heartbeat',
  'location',
  'attributes',
  'config',
  'ota',
  'ota/status',
  'commands/abc',
  'commands/abc/result',
  'commands/+',
  'commands/#',
  'commands/+/result',
  '#',
  '+',
  'anything',
  'telemetry/extra',
];

describe("a device's broker ACL", () => {
  for (const action of ['publish', 'subscribe'] as const) {
    it(`allows a ${action} exactly where deviceMay does, in its own tree and no other`, () => {
      for (const id of [ID, OTHER]) {
        for (const path of paths) {
          const topic = `devices/${id}/${path}`;
          // Wildcards are not topics: a publish to one is refused by every broker before any ACL.
          if (action === 'publish' && /[+#]/.test(path)) continue;
          expect([topic, brokerAllows(action, topic)]).toEqual([topic, deviceMay(ID, action, topic)]);
        }
      }
      expect(brokerAllows(action, 'devices/+/telemetry')).toBe(false);
      expect(brokerAllows(action, '#')).toBe(false);
    });
  }
});
