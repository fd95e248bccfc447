export * from './run-recovery';
export * from './run-deleter';
export * from './run-retention';
