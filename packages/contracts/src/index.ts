export * from './topics.js';
export * from './payloads.js';
export * from './live-events.js';
export * from './rollout-groups.js';
