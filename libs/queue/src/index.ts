export * from './queue-contract';
