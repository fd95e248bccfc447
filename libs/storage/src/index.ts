export * from './object-store';
export * from './local-object-store';
export * from './safe-path';
