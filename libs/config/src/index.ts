export * from './settings';
export * from './load-settings';
export * from './auth-settings';
export * from './workflow-allow-list-settings';
export * from './pool-settings';
export * from './proxy-settings';
