export * from './run-recovery';
