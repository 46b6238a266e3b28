/**
 * The Leaflet maps, in one chunk loaded on demand: a device's track and the fleet
 * map share Leaflet, and one chunk keeps Rolldown from splitting its CommonJS
 * helpers into a chunk of their own, which the entry would then load as a
 * second script on every first load (dashboard.e2e.test.ts refuses that).
 */
export { default as DeviceMap } from '../devices/device-map';
export { default as FleetMap } from './fleet-map';
