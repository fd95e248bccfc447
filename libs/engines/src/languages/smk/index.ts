export * from './smk-documents';
export * from './smk-language';
