export * from './label-bounds';
export * from './metric-catalog';
export * from './prometheus-text';
export * from './wes-metrics';
