/**
 * The pages loaded on demand, in one chunk: Admin, the OTA pages (firmware,
 * fleets, deployments), the fleet map, fleet health, the stream aliases, an alert's page, the
 * files page and a device page's Files section are for few users or rarely visited (the maps and charts they draw are chunks of their own). One chunk, not
 * one each: with Vite 8's bundler, a second lazy chunk that imports the session
 * moves React into a chunk of its own, a second script on every first load.
 */
export { AdminPage } from '../features/admin/admin-page';
export { OtaRoutes } from '../features/ota/ota-routes';
export { FleetMapPage } from '../features/locations/fleet-map-page';
export { HealthPage } from '../features/health/health-page';
export { AliasRoutes } from '../features/aliases/alias-routes';
export { AlertPage } from '../features/alerts/alert-page';
export { FilesPage } from '../features/files/files-page';
export { DeviceFiles } from '../features/files/device-files';
