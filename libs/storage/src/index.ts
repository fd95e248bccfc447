export * from './object-store';
export * from './local-object-store';
export * from './safe-path';
export * from './s3-object-store';
export * from './create-object-store';
export * from './path-set';
