export * from './redis-connection';
export * from './run-queue';
export * from './worker-registry';
