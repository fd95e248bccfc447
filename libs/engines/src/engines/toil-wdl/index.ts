export * from './toil-wdl-engine';
