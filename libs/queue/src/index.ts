export * from './queue-contract';
export * from './worker-registry';
