export * from './credential-hashes';
export * from './oidc-owner';
export * from './oidc-token-verifier';
export * from './signed-links';
