export * from './credential-hashes';
export * from './signed-links';
