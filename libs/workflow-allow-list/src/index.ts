export * from './allow-list-entries';
export * from './allow-list-matcher';
export * from './trs-url';
export * from './url-prefix';
export * from './workflow-documents';
