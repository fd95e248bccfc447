import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonTooDeepError, stringifyJson } from '../../../../json/src';
import { ENGINES } from '../../engine-catalog';
import { checkEngineParameters, InvalidEngineParameterError } from '../../engine-definition';
import { CWLTOOL } from './cwltool-engine';

describe('checkEngineParameters (the cwltool allow-list)', () => {
  it('accepts no parameters', () => {
    expect(checkEngineParameters(CWLTOOL, {})).toEqual({ parameters: {}, ignored: [] });
  });

  it('normalises boolean values', () => {
    expect(
      checkEngineParameters(CWLTOOL, { '--parallel': 'TRUE', '--debug': '', '--strict': ' false ', '--timestamps': 'True' }).parameters,
    ).toEqual({ '--parallel': 'true', '--debug': 'true', '--strict': 'false', '--timestamps': 'true' });
  });

  it('accepts a string parameter only with one of its choices', () => {
    expect(checkEngineParameters(CWLTOOL, { '--on-error': 'continue' }).parameters).toEqual({ '--on-error': 'continue' });
    expect(() => checkEngineParameters(CWLTOOL, { '--on-error': 'retry' })).toThrow(InvalidEngineParameterError);
    expect(() => checkEngineParameters(CWLTOOL, { '--on-error': 'retry' })).toThrow(/--on-error.*stop, continue.*retry/);
  });

  it('refuses a boolean parameter with another value, naming it', () => {
    expect(() => checkEngineParameters(CWLTOOL, { '--parallel': 'maybe' })).toThrow(/"--parallel" takes true or false, not "maybe"/);
  });

  it('drops the client-side flags toil-wes-cwl-runner passes on (null: a bare flag), keeping the rest', () => {
    expect(checkEngineParameters(CWLTOOL, { '--outdir': '/tmp/xyz', '--quiet': '', '--parallel': '' })).toEqual({
      parameters: { '--parallel': 'true' },
      ignored: ['--outdir', '--quiet'],
    });
  });

  it.each(['--jobStore', '--workDir', '--user-space-docker-cmd', '--provenance', '--overrides', 'parallel', '-p', '--parallel=true', '--outdir=/x'])(
    'refuses %s, which is not on the allow-list, and lists what is',
    (name) => {
      let err: unknown;
      try {
        checkEngineParameters(CWLTOOL, { [name]: 'true' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidEngineParameterError);
      expect((err as Error).message).toContain(`"${name}"`);
      expect((err as Error).message).toContain('--parallel');
    },
  );

  it('refuses the whole set when one entry is bad', () => {
    expect(() => checkEngineParameters(CWLTOOL, { '--parallel': 'true', '--jobStore': '/' })).toThrow(/--jobStore/);
  });
});

describe('cwltool command', () => {
  const input = { workflowPath: '/w/main.cwl', paramsPath: '/w/params.json', outDir: '/w/out', tmpDir: '/w/tmp', parameters: {} };

  it('is an argument array ending with the workflow and its parameters', () => {
    const cmd = CWLTOOL.command('/usr/bin/cwltool', input);
    expect(cmd.file).toBe('/usr/bin/cwltool');
    expect(cmd.args.slice(-2)).toEqual(['/w/main.cwl', '/w/params.json']);
    expect(cmd.args).toContain('--outdir');
    expect(cmd.args[cmd.args.indexOf('--outdir') + 1]).toBe('/w/out');
  });

  it('turns checked parameters into flags', () => {
    const { parameters } = checkEngineParameters(CWLTOOL, { '--parallel': 'true', '--debug': 'false', '--strict': 'false', '--on-error': 'continue' });
    const { args } = CWLTOOL.command('cwltool', { ...input, parameters });
    expect(args).toContain('--parallel');
    expect(args).not.toContain('--debug');
    expect(args).toContain('--non-strict');
    expect(args).not.toContain('--strict');
    expect(args[args.indexOf('--on-error') + 1]).toBe('continue');
    expect(args.slice(-2)).toEqual(['/w/main.cwl', '/w/params.json']);
  });

  it('never passes --log-dir, not even when a client sends it: it moves stdout: files out of the job folder the tool sees', () => {
    const { parameters, ignored } = checkEngineParameters(CWLTOOL, { '--log-dir': '/x', '--parallel': 'true' });
    expect(ignored).toEqual(['--log-dir']);
    expect(CWLTOOL.command('cwltool', { ...input, parameters }).args).not.toContain('--log-dir');
  });

  it('keeps the default strictness when --strict is true', () => {
    const { args } = CWLTOOL.command('cwltool', { ...input, parameters: { '--strict': 'true' } });
    expect(args).not.toContain('--non-strict');
    expect(args).not.toContain('--strict');
  });

  it('is stopped with SIGINT (cwltool honours it fastest)', () => {
    expect(CWLTOOL.stopSignal).toBe('SIGINT');
  });

  it('reads the version as the last token of --version', () => {
    expect(CWLTOOL.parseVersion('/usr/bin/cwltool 3.1.20230209161050\n')).toBe('3.1.20230209161050');
    expect(CWLTOOL.parseVersion('cwltool 3.1.20240112164112')).toBe('3.1.20240112164112');
  });
});

describe('cwltool outputs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-cwltool-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const filesWith = (stdout: string | undefined) => {
    const stdoutFile = path.join(dir, `stdout-${Math.random().toString(36).slice(2)}`);
    if (stdout !== undefined) writeFileSync(stdoutFile, stdout);
    return { root: dir, outDir: dir, engineOutDir: dir, tmpDir: dir, stdoutFile, stderrFile: path.join(dir, 'stderr') };
  };

  it('are the JSON object on its stdout, numbers kept exactly; nothing printed is {}', async () => {
    const out = await CWLTOOL.readOutputs(filesWith('{"n": 9007199254740993, "f": {"class": "File", "location": "file:///wes/outputs/x"}}'));
    expect(stringifyJson(out)).toBe('{"n":9007199254740993,"f":{"class":"File","location":"file:///wes/outputs/x"}}');
    expect(await CWLTOOL.readOutputs(filesWith(''))).toEqual({});
  });

  it('nested too deep are the workflow\'s fault (JsonTooDeepError); other stdout, or none, is not JSON', async () => {
    await expect(CWLTOOL.readOutputs(filesWith('['.repeat(2000) + ']'.repeat(2000)))).rejects.toBeInstanceOf(JsonTooDeepError);
    await expect(CWLTOOL.readOutputs(filesWith('INFO not json'))).rejects.toThrow(/^its output object is not JSON: /);
    await expect(CWLTOOL.readOutputs(filesWith(undefined))).rejects.toThrow(/^its output object is not JSON: .*ENOENT/);
  });

  it('is the row of the engine table named cwltool', () => {
    expect(ENGINES.cwltool).toBe(CWLTOOL);
  });
});
