export * from './redis-connection';
export * from './run-queue';
export * from './worker-registry';
export * from './worker-pools';
export * from './connection-closing';
