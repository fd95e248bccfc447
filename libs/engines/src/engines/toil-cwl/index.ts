export * from './toil-cwl-engine';
export * from './toil-tasks';
