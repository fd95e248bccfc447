export * from './snakemake-engine';
export * from './snakemake-tasks';
