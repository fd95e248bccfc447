export * from './lossless-json';
