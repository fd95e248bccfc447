export * from './credential-hashes';
