export * from './states';
export * from './run-keys';
export * from './run-model';
export * from './run-store';
export * from './terminal-state-cache';
export * from './workflow-state-machine';
export * from './task-store';
export * from './run-index-backfill';
