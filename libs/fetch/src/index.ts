export * from './url-fetcher';
