/**
 * The pages loaded on demand, in one chunk: Admin and the OTA pages (firmware,
 * fleets, deployments) are for few users and rarely visited. One chunk, not
 * one each: with Vite 8's bundler, a second lazy chunk that imports the session
 * moves React into a chunk of its own, a second script on every first load.
 */
export { AdminPage } from '../features/admin/admin-page';
export { OtaRoutes } from '../features/ota/ota-routes';
