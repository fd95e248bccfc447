export * from './file-objects';
export * from './input-locations';
