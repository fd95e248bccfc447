export * from './engine-definition';
export * from './engine-catalog';
export * from './engine-launcher';
export * from './cwltool';
export * from './process-group';
export * from './languages/cwl';
