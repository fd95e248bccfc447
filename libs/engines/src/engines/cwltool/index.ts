export * from './cwltool-engine';
export * from './cwltool-tasks';
