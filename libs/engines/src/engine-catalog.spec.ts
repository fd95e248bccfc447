import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_ENGINE_FOR_TYPE, ENGINE_NAMES, engineNamed, ENGINES, languageOf, LANGUAGES, supportedWorkflowTypes, workflowTypeNamed } from './engine-catalog';
import { EngineDefinition } from './engine-definition';
import { defaultEngines, engineExecutable, engineOptions, enginesToRun, InvalidEngineSettingError } from './engine-settings';
import { LanguageDefinition } from './language-definition';

describe('the engine table', () => {
  it('holds complete engine definitions (a row missing a piece does not compile)', () => {
    expectTypeOf(ENGINES.cwltool).toMatchTypeOf<EngineDefinition>();
    const { readOutputs: _left, ...withoutOutputs } = ENGINES.cwltool;
    // @ts-expect-error: a table whose row lacks readOutputs (or any other required piece) is refused.
    const table = { cwltool: withoutOutputs } satisfies Record<string, EngineDefinition>;
    expect(table.cwltool.name).toBe('cwltool');
  });

  it('names each engine by its key, and each runs only languages of the language table', () => {
    for (const name of ENGINE_NAMES) {
      const engine: EngineDefinition = ENGINES[name];
      expect(engine.name).toBe(name);
      for (const [type, versions] of Object.entries(engine.workflowTypes)) {
        const language = languageOf(type);
        expect(language, `${name} runs ${type}`).toBeDefined();
        for (const v of versions) expect(language!.versions).toContain(v);
      }
      expect(engine.versionArgs.length).toBeGreaterThan(0);
      expect(engine.executable.default).not.toBe('');
    }
  });

  it('gives each workflow type a default engine that runs it', () => {
    for (const [type, name] of Object.entries(DEFAULT_ENGINE_FOR_TYPE)) {
      expect(engineNamed(name)?.workflowTypes[type]).toBeDefined();
    }
    expect(Object.keys(DEFAULT_ENGINE_FOR_TYPE).sort()).toEqual(Object.keys(LANGUAGES).sort());
  });

  it('lists the workflow types of every engine with their versions (what service-info and submit read)', () => {
    expect(supportedWorkflowTypes()).toEqual({ CWL: ['v1.0', 'v1.1', 'v1.2'], SMK: ['7'], WDL: ['1.0', 'draft-2'] });
  });

  it('finds a workflow type by its name or an alias of its language, case-insensitively', () => {
    expect(workflowTypeNamed('cwl')).toBe('CWL');
    expect(workflowTypeNamed(' smk ')).toBe('SMK');
    expect(workflowTypeNamed('Snakemake')).toBe('SMK');
    expect(workflowTypeNamed('wdl')).toBe('WDL');
    expect(workflowTypeNamed('snake')).toBeUndefined();
    expect(workflowTypeNamed('constructor')).toBeUndefined();
  });

  it('finds no engine or language for inherited property names', () => {
    expect(engineNamed('constructor')).toBeUndefined();
    expect(engineNamed('__proto__')).toBeUndefined();
    expect(languageOf('toString')).toBeUndefined();
  });

  it('is what the README documents: every engine, its allow-listed parameters and the client-side flags it drops', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    for (const name of ENGINE_NAMES) {
      const engine: EngineDefinition = ENGINES[name];
      expect(readme, name).toContain(`WES_ENGINE_${name.toUpperCase().replace(/-/g, '_')}_PATH`);
      for (const flag of [...engine.parameters.map((p) => p.name), ...engine.clientSideParameters]) expect(readme, `${name} ${flag}`).toContain(`\`${flag}\``);
    }
    for (const type of Object.keys(LANGUAGES)) expect(readme).toContain(type);
  });

  it('keys languages by their workflow type', () => {
    for (const [type, language] of Object.entries(LANGUAGES)) {
      expectTypeOf(language).toMatchTypeOf<LanguageDefinition>();
      expect(language.type).toBe(type);
    }
  });
});

describe('engine settings', () => {
  const none = { enginePaths: {}, engineOptions: {}, engines: '', defaultEngines: {} };

  it('run every engine of the table by default, none of them required, each on its default executable', () => {
    const toRun = enginesToRun(none);
    expect(toRun.map((e) => e.name)).toEqual(ENGINE_NAMES);
    expect(toRun.every((e) => !e.required)).toBe(true);
    expect(toRun.find((e) => e.name === 'cwltool')).toMatchObject({ executable: 'cwltool', setting: 'WES_ENGINE_CWLTOOL_PATH unset: cwltool on PATH' });
  });

  it('require an engine named by WES_ENGINES or given an executable', () => {
    expect(enginesToRun({ ...none, engines: 'cwltool' })[0]).toMatchObject({ name: 'cwltool', required: true, executable: 'cwltool' });
    expect(enginesToRun({ ...none, enginePaths: { cwltool: '/opt/cwltool' } })[0]).toMatchObject({
      required: true,
      executable: '/opt/cwltool',
      setting: 'WES_ENGINE_CWLTOOL_PATH=/opt/cwltool',
    });
    expect(engineExecutable(ENGINES.cwltool, { enginePaths: { cwltool: '/opt/cwltool' } })).toBe('/opt/cwltool');
    expect(engineExecutable(ENGINES.cwltool, { enginePaths: {} })).toBe('cwltool');
  });

  it('refuse engine names the table does not hold, listing those it does', () => {
    expect(() => enginesToRun({ ...none, engines: 'cwltool,no-such-engine' })).toThrow(`WES_ENGINES: no engine "no-such-engine" (known: ${ENGINE_NAMES.join(', ')})`);
    expect(() => enginesToRun({ ...none, enginePaths: { toil: '/x' } })).toThrow(InvalidEngineSettingError);
    expect(() => enginesToRun({ ...none, engineOptions: { toil: { batchSystem: 'slurm' } } })).toThrow(/engineOptions: no engine "toil"/);
    expect(() => enginesToRun({ ...none, engineOptions: { cwltool: { n: 1 as unknown as string } } })).toThrow(/engineOptions.cwltool: must map option names to strings/);
    expect(() => enginesToRun({ ...none, engineOptions: { snakemake: { cores: 'all' } } })).toThrow('invalid setting engineOptions.snakemake: cores: "all" is not a positive whole number');
    expect(enginesToRun({ ...none, engineOptions: { snakemake: { cores: '4' } } }).map((e) => e.name)).toContain('snakemake');
  });

  it('give each engine its own options, none when unset', () => {
    expect(engineOptions(ENGINES.cwltool, { engineOptions: { cwltool: { a: 'b' } } })).toEqual({ a: 'b' });
    expect(engineOptions(ENGINES.cwltool, { engineOptions: {} })).toEqual({});
  });

  it('give the built-in default engine per type unless WES_DEFAULT_ENGINES names another that runs it', () => {
    expect(defaultEngines(none)).toEqual({ CWL: 'cwltool', SMK: 'snakemake', WDL: 'toil-wdl' });
    expect(defaultEngines({ defaultEngines: { cwl: 'toil-cwl' } })).toEqual({ CWL: 'toil-cwl', SMK: 'snakemake', WDL: 'toil-wdl' });
    expect(() => defaultEngines({ defaultEngines: { SMK: 'cwltool' } })).toThrow(/cwltool does not run SMK/);
    expect(() => defaultEngines({ defaultEngines: { WDL: 'cwltool' } })).toThrow(/cwltool does not run WDL/);
    expect(() => defaultEngines({ defaultEngines: { NFL: 'cwltool' } })).toThrow(/no workflow type "NFL"/);
    expect(() => defaultEngines({ defaultEngines: { CWL: 'toil' } })).toThrow(/no engine "toil"/);
  });
});
