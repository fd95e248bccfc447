export * from './wdl-documents';
export * from './wdl-language';
