export * from './cwl-documents';
export * from './cwl-language';
export * from './cwl-params-directives';
export * from './file-objects';
export * from './input-locations';
export * from './cwl-output-object';
