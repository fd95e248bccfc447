export * from './platform.module';
export * from './url-fetcher-factory';
export * from './shutdown-watchdog';
export * from './readiness';
export * from './metrics-access';
