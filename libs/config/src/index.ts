export * from './settings';
export * from './load-settings';
export * from './auth-settings';
