import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkApiListenSettings, isLoopbackHost } from './auth-settings';
import { InvalidSettingError, loadSettings } from './load-settings';
import { SETTING_SOURCES, WesSettings } from './settings';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-settings-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function configFile(text: string): string {
  const file = path.join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The error loadSettings throws for `env`, or a failure when it throws none. */
function errorFor(env: NodeJS.ProcessEnv): InvalidSettingError {
  try {
    loadSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSettingError);
    return err as InvalidSettingError;
  }
  throw new Error(`loadSettings accepted ${JSON.stringify(env)}`);
}

describe('loadSettings', () => {
  it('gives the defaults for an empty environment', () => {
    const s = loadSettings({});
    expect(s).toBeInstanceOf(WesSettings);
    expect(s.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(s.keyPrefix).toBe('wes');
    expect(s.port).toBe(8080);
    expect(s.workerConcurrency).toBe(2);
    // Unset: each engine's own stop signal is used.
    expect(s.cancelSignal).toBeUndefined();
    expect(s.keepWorkDirs).toBe(false);
    expect(s.publicUrl).toBeUndefined();
    // No per-user limits unless configured.
    expect(s.limitActiveRunsPerUser).toBe(0);
    expect(s.limitSubmitsPerMinute).toBe(0);
  });

  it('refuses a negative or fractional limit, naming its variable', () => {
    expect(errorFor({ WES_LIMIT_ACTIVE_RUNS_PER_USER: '-1' }).message).toContain('WES_LIMIT_ACTIVE_RUNS_PER_USER');
    expect(errorFor({ WES_LIMIT_SUBMITS_PER_MINUTE: '1.5' }).message).toContain('WES_LIMIT_SUBMITS_PER_MINUTE');
  });

  it('reads WES_RETENTION_DAYS as a number of days, fractions too; refuses a negative or non-number, naming it', () => {
    expect(loadSettings({}).retentionDays).toBe(0);
    expect(loadSettings({ WES_RETENTION_DAYS: '30' }).retentionDays).toBe(30);
    expect(loadSettings({ WES_RETENTION_DAYS: '0.5' }).retentionDays).toBe(0.5);
    expect(loadSettings({ WES_RETENTION_DAYS: '.25' }).retentionDays).toBe(0.25);
    for (const bad of ['-1', 'abc', '1e3', '7d', 'Infinity']) expect(errorFor({ WES_RETENTION_DAYS: bad }).message, bad).toContain('WES_RETENTION_DAYS');
  });

  it('reads the S3 upload part size and concurrency; refuses a part under S3\'s 5 MiB or a concurrency of 0', () => {
    expect([loadSettings({}).s3UploadPartBytes, loadSettings({}).s3UploadConcurrency]).toEqual([16 * 1024 * 1024, 4]);
    const s = loadSettings({ WES_S3_UPLOAD_PART_BYTES: String(64 * 1024 * 1024), WES_S3_UPLOAD_CONCURRENCY: '2' });
    expect([s.s3UploadPartBytes, s.s3UploadConcurrency]).toEqual([64 * 1024 * 1024, 2]);
    expect(errorFor({ WES_S3_UPLOAD_PART_BYTES: String(5 * 1024 * 1024 - 1) }).message).toContain('WES_S3_UPLOAD_PART_BYTES');
    expect(errorFor({ WES_S3_UPLOAD_CONCURRENCY: '0' }).message).toContain('WES_S3_UPLOAD_CONCURRENCY');
  });

  it('does not read process.env when given an environment', () => {
    const before = process.env.WES_PORT;
    process.env.WES_PORT = '1234';
    try {
      expect(loadSettings({}).port).toBe(8080);
    } finally {
      if (before === undefined) delete process.env.WES_PORT;
      else process.env.WES_PORT = before;
    }
  });

  it('reads every setting from its environment variable', () => {
    const s = loadSettings({
      REDIS_URL: 'rediss://cache.example:6380/2',
      WES_KEY_PREFIX: 'wes-prod.1',
      WES_QUEUE_NAME: 'runs_a',
      WES_HOST: '127.0.0.1',
      WES_PORT: '9000',
      WES_PUBLIC_URL: 'https://wes.example.org',
      WES_DATA_DIR: '/srv/store',
      WES_WORK_DIR: '/scratch',
      WES_KEEP_WORK_DIRS: 'yes',
      WES_WORKER_CONCURRENCY: '8',
      WES_CANCEL_GRACE_MS: '0',
      WES_CANCEL_SIGNAL: 'SIGINT',
      WES_CANCEL_POLL_MS: '100',
      WES_CWLTOOL_PATH: '/opt/cwltool',
      WES_DEFAULT_PAGE_SIZE: '10',
      WES_MAX_PAGE_SIZE: '10',
      WES_LIMIT_ACTIVE_RUNS_PER_USER: '4',
      WES_LIMIT_SUBMITS_PER_MINUTE: '30',
      LOG_LEVEL: 'warn',
    });
    expect(s).toMatchObject({
      redisUrl: 'rediss://cache.example:6380/2',
      keyPrefix: 'wes-prod.1',
      queueName: 'runs_a',
      host: '127.0.0.1',
      port: 9000,
      publicUrl: 'https://wes.example.org',
      dataDir: '/srv/store',
      workDir: '/scratch',
      keepWorkDirs: true,
      workerConcurrency: 8,
      cancelGraceMs: 0,
      cancelSignal: 'SIGINT',
      cancelPollMs: 100,
      enginePaths: { cwltool: '/opt/cwltool' },
      defaultPageSize: 10,
      maxPageSize: 10,
      limitActiveRunsPerUser: 4,
      limitSubmitsPerMinute: 30,
      logLevel: 'warn',
    });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['ON', true],
    ['0', false],
    ['no', false],
    ['off', false],
    ['', false],
  ])('reads WES_KEEP_WORK_DIRS=%j as %s', (text, value) => {
    expect(loadSettings({ WES_KEEP_WORK_DIRS: text }).keepWorkDirs).toBe(value);
  });

  it('treats an empty WES_PUBLIC_URL or WES_CANCEL_SIGNAL as unset', () => {
    expect(loadSettings({ WES_PUBLIC_URL: '' }).publicUrl).toBeUndefined();
    expect(loadSettings({ WES_CANCEL_SIGNAL: '' }).cancelSignal).toBeUndefined();
  });

  it.each([
    [{ WES_PORT: 'abc' }, 'WES_PORT'],
    [{ WES_PORT: '80.5' }, 'WES_PORT'],
    [{ WES_PORT: '70000' }, 'WES_PORT'],
    [{ WES_PORT: '-1' }, 'WES_PORT'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ WES_KEY_PREFIX: 'has space' }, 'WES_KEY_PREFIX'],
    [{ WES_KEY_PREFIX: 'a:b' }, 'WES_KEY_PREFIX'],
    [{ WES_QUEUE_NAME: 'q/1' }, 'WES_QUEUE_NAME'],
    [{ WES_PUBLIC_URL: 'wes.example.org' }, 'WES_PUBLIC_URL'],
    [{ WES_KEEP_WORK_DIRS: 'maybe' }, 'WES_KEEP_WORK_DIRS'],
    [{ WES_WORKER_CONCURRENCY: '0' }, 'WES_WORKER_CONCURRENCY'],
    [{ WES_WORKER_CONCURRENCY: '1000' }, 'WES_WORKER_CONCURRENCY'],
    [{ WES_CANCEL_GRACE_MS: '-5' }, 'WES_CANCEL_GRACE_MS'],
    [{ WES_CANCEL_SIGNAL: 'SIGSTOP' }, 'WES_CANCEL_SIGNAL'],
    [{ WES_CANCEL_POLL_MS: '10' }, 'WES_CANCEL_POLL_MS'],
    [{ WES_DATA_DIR: '' }, 'WES_DATA_DIR'],
    [{ WES_CWLTOOL_PATH: '' }, 'WES_CWLTOOL_PATH'],
    [{ WES_ENGINE_CWLTOOL_PATH: ' ' }, 'WES_ENGINE_CWLTOOL_PATH'],
    [{ WES_DEFAULT_ENGINES: 'CWL' }, 'WES_DEFAULT_ENGINES'],
    [{ WES_MAX_FIELD_BYTES: '10' }, 'WES_MAX_FIELD_BYTES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ WES_DEFAULT_PAGE_SIZE: '20', WES_MAX_PAGE_SIZE: '10' }, 'WES_DEFAULT_PAGE_SIZE'],
  ])('refuses %j, naming %s', (env, name) => {
    const err = errorFor(env as NodeJS.ProcessEnv);
    expect(err.message).toContain(name);
  });

  it('names the default when a setting left at its default conflicts with another', () => {
    // WES_MAX_PAGE_SIZE below the default page size (50).
    const err = errorFor({ WES_MAX_PAGE_SIZE: '10' });
    expect(err.message).toMatch(/WES_DEFAULT_PAGE_SIZE|WES_MAX_PAGE_SIZE/);
  });

  describe('with a YAML file (WES_CONFIG_FILE)', () => {
    it('reads settings by property name', () => {
      const file = configFile('port: 9100\nkeyPrefix: from-file\nkeepWorkDirs: true\nworkerConcurrency: "3"\n');
      const s = loadSettings({ WES_CONFIG_FILE: file });
      expect(s.port).toBe(9100);
      expect(s.keyPrefix).toBe('from-file');
      expect(s.keepWorkDirs).toBe(true);
      expect(s.workerConcurrency).toBe(3);
    });

    it('lets the environment win over the file', () => {
      const file = configFile('port: 9100\nkeyPrefix: from-file\n');
      const s = loadSettings({ WES_CONFIG_FILE: file, WES_PORT: '9200' });
      expect(s.port).toBe(9200);
      expect(s.keyPrefix).toBe('from-file');
    });

    it('accepts an empty file', () => {
      expect(loadSettings({ WES_CONFIG_FILE: configFile('') }).port).toBe(8080);
    });

    it('names the file and the key of a bad value', () => {
      const file = configFile('port: not-a-number\n');
      const err = errorFor({ WES_CONFIG_FILE: file });
      expect(err.message).toContain(file);
      expect(err.message).toContain('port');
    });

    it('names the file and the key of a value that fails validation', () => {
      const file = configFile('workerConcurrency: 0\n');
      const err = errorFor({ WES_CONFIG_FILE: file });
      expect(err.message).toContain(file);
      expect(err.message).toContain('workerConcurrency');
    });

    it('refuses an unknown key, naming it', () => {
      const err = errorFor({ WES_CONFIG_FILE: configFile('prot: 9100\n') });
      expect(err.message).toContain('"prot"');
    });

    it('refuses a file that is not a mapping', () => {
      expect(errorFor({ WES_CONFIG_FILE: configFile('- a\n- b\n') }).message).toContain('WES_CONFIG_FILE');
    });

    it('refuses a file that is not YAML, or is missing', () => {
      expect(errorFor({ WES_CONFIG_FILE: configFile('port: [1, 2\n') }).message).toContain('WES_CONFIG_FILE');
      expect(errorFor({ WES_CONFIG_FILE: path.join(dir, 'missing.yaml') }).message).toContain('missing.yaml');
    });
  });

  it('has an environment variable for every setting, each used once', () => {
    // Settings with no variable (env null) are read from the YAML file only.
    const names = Object.values(SETTING_SOURCES).flatMap((s) => (s.env === null ? [] : [s.env]));
    expect(new Set(names).size).toBe(names.length);
    // Every setting with a default has a variable (optional ones have no own key until set).
    for (const key of Object.keys(new WesSettings())) expect(SETTING_SOURCES, key).toHaveProperty([key]);
    // And every variable is read: setting it to a bad value for its kind is refused or changes the setting.
    for (const [key, source] of Object.entries(SETTING_SOURCES)) {
      const env: string | null = source.env;
      if (source.kind === 'string' || env === null) continue;
      expect(() => loadSettings({ [env]: 'not-a-value' }), key).toThrow(env);
    }
  });
});

const TOKEN_SHA = 'a'.repeat(64);
const SCRYPT = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';

function usersFile(users: string): string {
  return configFile(`authMode: static\nauthUsers:\n${users}`);
}

describe('auth settings', () => {
  it('default to mode none, no users, no override', () => {
    const s = loadSettings({});
    expect(s.authMode).toBe('none');
    expect(s.authUsers).toEqual([]);
    expect(s.authAllowNoneOnNetwork).toBe(false);
  });

  it('read the mode and the override from the environment, the users from the file', () => {
    const file = usersFile(`  - name: alice\n    roles: []\n    tokenSha256: ${TOKEN_SHA}\n  - name: root@site\n    roles: [admin]\n    passwordScrypt: ${SCRYPT}\n`);
    const s = loadSettings({ WES_CONFIG_FILE: file, WES_AUTH_ALLOW_NONE_ON_NETWORK: 'true' });
    expect(s.authMode).toBe('static');
    expect(s.authAllowNoneOnNetwork).toBe(true);
    expect(s.authUsers).toEqual([
      { name: 'alice', roles: [], tokenSha256: TOKEN_SHA },
      { name: 'root@site', roles: ['admin'], passwordScrypt: SCRYPT },
    ]);
    expect(loadSettings({ WES_CONFIG_FILE: file, WES_AUTH_MODE: 'none' }).authMode).toBe('none');
  });

  it('refuse a bad mode, and mode static without users', () => {
    expect(errorFor({ WES_AUTH_MODE: 'ldap' }).message).toContain('WES_AUTH_MODE');
    expect(errorFor({ WES_AUTH_MODE: 'static' }).message).toContain('authUsers');
  });

  it('refuse malformed users, naming the entry and the field', () => {
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: "a b"\n    tokenSha256: ${TOKEN_SHA}\n`) }).message).toMatch(/authUsers\[0\]\.name/);
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    roles: []\n`) }).message).toContain('neither tokenSha256 nor passwordScrypt');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: abc\n`) }).message).toContain('tokenSha256');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    passwordScrypt: "scrypt$1000$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g="\n`) }).message).toContain('power of two');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    passwordScrypt: plain-text\n`) }).message).toContain('passwordScrypt');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n    password: x\n`) }).message).toContain('unknown field "password"');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    roles: admin\n    tokenSha256: ${TOKEN_SHA}\n`) }).message).toContain('roles');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n  - name: a\n    passwordScrypt: ${SCRYPT}\n`) }).message).toContain('listed twice');
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n  - name: b\n    tokenSha256: ${TOKEN_SHA.toUpperCase()}\n`) }).message).toContain('another user');
    expect(errorFor({ WES_CONFIG_FILE: configFile('authUsers: {name: a}\n') }).message).toContain('authUsers');
  });

  it("read a user's own limits, and refuse bad ones naming the entry and the field", () => {
    const file = usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n    maxActiveRuns: 10\n    submitsPerMinute: 0\n`);
    expect(loadSettings({ WES_CONFIG_FILE: file }).authUsers[0]).toMatchObject({ maxActiveRuns: 10, submitsPerMinute: 0 });
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n    maxActiveRuns: -2\n`) }).message).toMatch(/authUsers\[0\]\.maxActiveRuns=-2/);
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n    submitsPerMinute: "5"\n`) }).message).toMatch(/authUsers\[0\]\.submitsPerMinute="5"/);
    expect(errorFor({ WES_CONFIG_FILE: usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n    maxActiveRun: 2\n`) }).message).toContain('unknown field "maxActiveRun"');
  });

  const OIDC = { WES_AUTH_MODE: 'oidc', WES_OIDC_ISSUER: 'https://id.example.org/realms/wes', WES_OIDC_AUDIENCE: 'wes' };

  it('read the oidc settings from the environment, with asymmetric algorithms, 30 s of leeway, sub and roles by default', () => {
    const defaults = loadSettings(OIDC);
    expect(defaults).toMatchObject({
      authMode: 'oidc',
      oidcIssuer: 'https://id.example.org/realms/wes',
      oidcAudience: 'wes',
      oidcJwksUrl: '',
      oidcClockToleranceSeconds: 30,
      oidcUserClaim: 'sub',
      oidcRolesClaim: 'roles',
      oidcJwksCooldownSeconds: 30,
      authUsers: [],
    });
    expect(defaults.oidcAlgorithms.split(',')).toEqual(expect.arrayContaining(['RS256', 'ES256', 'PS256', 'EdDSA']));
    expect(defaults.oidcAlgorithms).not.toMatch(/HS|none/);
    const s = loadSettings({
      ...OIDC,
      WES_OIDC_AUDIENCE: 'wes, account',
      WES_OIDC_JWKS_URL: 'https://id.example.org/certs',
      WES_OIDC_ALGORITHMS: 'ES256, EdDSA',
      WES_OIDC_CLOCK_TOLERANCE_SECONDS: '5',
      WES_OIDC_USER_CLAIM: 'preferred_username',
      WES_OIDC_ROLES_CLAIM: 'realm_access.roles',
      WES_OIDC_JWKS_COOLDOWN_SECONDS: '1',
    });
    expect(s).toMatchObject({
      oidcAudience: 'wes, account',
      oidcJwksUrl: 'https://id.example.org/certs',
      oidcAlgorithms: 'ES256, EdDSA',
      oidcClockToleranceSeconds: 5,
      oidcUserClaim: 'preferred_username',
      oidcRolesClaim: 'realm_access.roles',
      oidcJwksCooldownSeconds: 1,
    });
    // Static users may stay beside the JWTs.
    const file = configFile(`authUsers:\n  - name: toil\n    passwordScrypt: ${SCRYPT}\n`);
    expect(loadSettings({ ...OIDC, WES_CONFIG_FILE: file }).authUsers).toHaveLength(1);
  });

  it('refuse mode oidc without an issuer or an audience, or with a bad URL, each saying what is missing', () => {
    expect(errorFor({ WES_AUTH_MODE: 'oidc', WES_OIDC_AUDIENCE: 'wes' }).message).toContain('WES_OIDC_ISSUER must name the issuer');
    expect(errorFor({ ...OIDC, WES_OIDC_AUDIENCE: '' }).message).toContain('WES_OIDC_AUDIENCE must name the audience');
    expect(errorFor({ ...OIDC, WES_OIDC_AUDIENCE: ' , ' }).message).toContain('WES_OIDC_AUDIENCE');
    expect(errorFor({ ...OIDC, WES_OIDC_ISSUER: 'id.example.org' }).message).toContain('WES_OIDC_ISSUER="id.example.org": must be an https://');
    expect(errorFor({ ...OIDC, WES_OIDC_JWKS_URL: 'ftp://id.example.org/certs' }).message).toContain('WES_OIDC_JWKS_URL');
    expect(errorFor({ ...OIDC, WES_OIDC_USER_CLAIM: '' }).message).toContain('WES_OIDC_USER_CLAIM');
    expect(errorFor({ ...OIDC, WES_OIDC_ROLES_CLAIM: 'a b' }).message).toContain('WES_OIDC_ROLES_CLAIM');
    expect(errorFor({ ...OIDC, WES_OIDC_CLOCK_TOLERANCE_SECONDS: '-1' }).message).toContain('WES_OIDC_CLOCK_TOLERANCE_SECONDS');
    // Other modes do not need them.
    expect(loadSettings({ WES_OIDC_AUDIENCE: 'wes' }).authMode).toBe('none');
  });

  it('refuse alg none, HS* and unknown algorithms, saying why', () => {
    expect(errorFor({ ...OIDC, WES_OIDC_ALGORITHMS: 'RS256,none' }).message).toContain('"none" is refused: it means no signature');
    expect(errorFor({ ...OIDC, WES_OIDC_ALGORITHMS: 'HS256' }).message).toContain('"HS256" is refused: a symmetric algorithm');
    expect(errorFor({ ...OIDC, WES_OIDC_ALGORITHMS: 'hs512,RS256' }).message).toContain('"hs512" is refused');
    expect(errorFor({ ...OIDC, WES_OIDC_ALGORITHMS: 'RS1' }).message).toContain('unknown algorithm "RS1"');
    expect(errorFor({ ...OIDC, WES_OIDC_ALGORITHMS: ',' }).message).toContain('lists no algorithm');
  });

  it('tell loopback addresses from others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.org', 'localhost.example.org', '::2', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('let the API listen off loopback with mode none only when told to, with a message saying so', () => {
    const message = (() => {
      try {
        checkApiListenSettings(loadSettings({ WES_HOST: '0.0.0.0' }));
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidSettingError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    })();
    expect(message).toContain('WES_HOST=0.0.0.0');
    expect(message).toContain('WES_AUTH_MODE=none');
    expect(message).toContain('WES_AUTH_ALLOW_NONE_ON_NETWORK=true');
    expect(message).toContain('127.0.0.1, ::1, localhost');
    expect(() => checkApiListenSettings(loadSettings({ WES_HOST: '127.0.0.1' }))).not.toThrow();
    expect(() => checkApiListenSettings(loadSettings({ WES_HOST: '::1' }))).not.toThrow();
    expect(() => checkApiListenSettings(loadSettings({ WES_HOST: '0.0.0.0', WES_AUTH_ALLOW_NONE_ON_NETWORK: 'true' }))).not.toThrow();
    const file = usersFile(`  - name: a\n    tokenSha256: ${TOKEN_SHA}\n`);
    expect(() => checkApiListenSettings(loadSettings({ WES_HOST: '0.0.0.0', WES_CONFIG_FILE: file }))).not.toThrow();
  });
});

describe('engine settings', () => {
  it('default to no executable named (each engine its own), every engine, the built-in defaults', () => {
    const s = loadSettings({});
    expect(s.enginePaths).toEqual({});
    expect(s.engines).toBe('');
    expect(s.defaultEngines).toEqual({});
    expect(s.engineOptions).toEqual({});
  });

  it('read engineOptions from the file only, a mapping per engine', () => {
    expect(SETTING_SOURCES.engineOptions.env).toBeNull();
    const file = configFile('engineOptions:\n  toil-cwl:\n    batchSystem: slurm\n');
    expect(loadSettings({ WES_CONFIG_FILE: file }).engineOptions).toEqual({ 'toil-cwl': { batchSystem: 'slurm' } });
    expect(errorFor({ WES_CONFIG_FILE: configFile('engineOptions: [a]\n') }).message).toContain('engineOptions');
  });

  it('read each engine executable from WES_ENGINE_<NAME>_PATH (upper case, - as _)', () => {
    expect(loadSettings({ WES_ENGINE_CWLTOOL_PATH: '/opt/cwltool', WES_ENGINE_TOIL_CWL_PATH: '/opt/toil-cwl-runner' }).enginePaths).toEqual({
      cwltool: '/opt/cwltool',
      'toil-cwl': '/opt/toil-cwl-runner',
    });
  });

  it('keep WES_CWLTOOL_PATH (and YAML cwltoolPath) as deprecated names of cwltool’s executable, the new names winning', () => {
    expect(loadSettings({ WES_CWLTOOL_PATH: '/old/cwltool' }).enginePaths).toEqual({ cwltool: '/old/cwltool' });
    expect(loadSettings({ WES_CWLTOOL_PATH: '/old/cwltool', WES_ENGINE_CWLTOOL_PATH: '/new/cwltool' }).enginePaths).toEqual({ cwltool: '/new/cwltool' });
    expect(loadSettings({ WES_CONFIG_FILE: configFile('cwltoolPath: /yaml/old\n') }).enginePaths).toEqual({ cwltool: '/yaml/old' });
    expect(loadSettings({ WES_CONFIG_FILE: configFile('cwltoolPath: /yaml/old\nenginePaths: {cwltool: /yaml/new}\n') }).enginePaths).toEqual({
      cwltool: '/yaml/new',
    });
    // The environment wins over the file, as for every setting.
    expect(loadSettings({ WES_CONFIG_FILE: configFile('enginePaths: {cwltool: /yaml/new}\n'), WES_CWLTOOL_PATH: '/env/old' }).enginePaths).toEqual({
      cwltool: '/env/old',
    });
  });

  it('read enginePaths and defaultEngines as YAML maps, WES_ENGINES and WES_DEFAULT_ENGINES from the environment', () => {
    const file = configFile('enginePaths:\n  cwltool: /yaml/cwltool\ndefaultEngines:\n  CWL: cwltool\nengines: cwltool\n');
    expect(loadSettings({ WES_CONFIG_FILE: file })).toMatchObject({ enginePaths: { cwltool: '/yaml/cwltool' }, defaultEngines: { CWL: 'cwltool' }, engines: 'cwltool' });
    expect(loadSettings({ WES_ENGINES: 'cwltool, toil-cwl', WES_DEFAULT_ENGINES: 'CWL=toil-cwl, WDL=toil-wdl' })).toMatchObject({
      engines: 'cwltool, toil-cwl',
      defaultEngines: { CWL: 'toil-cwl', WDL: 'toil-wdl' },
    });
  });

  it('refuse an enginePaths that is no mapping, or an executable that is empty, naming where it came from', () => {
    expect(errorFor({ WES_CONFIG_FILE: configFile('enginePaths: /opt/cwltool\n') }).message).toContain('enginePaths');
    const file = configFile('enginePaths:\n  cwltool: ""\n');
    expect(errorFor({ WES_CONFIG_FILE: file }).message).toContain(`${file}: enginePaths.cwltool`);
    expect(errorFor({ WES_DEFAULT_ENGINES: 'CWL=' }).message).toContain('"CWL=" is not KEY=value');
  });
});

describe('worker pool settings', () => {
  it('are empty by default (one implicit pool), read from a YAML map, and from WES_POOL_<NAME>_* variables over it', () => {
    expect(loadSettings({})).toMatchObject({ pools: {}, workerPools: '', enginePools: {} });
    const file = configFile('pools:\n  small: {engines: [cwltool], concurrency: 1}\n  wide: {engines: [cwltool], concurrency: 3, jobLockMs: 5000, maxAttempts: 2}\n');
    expect(loadSettings({ WES_CONFIG_FILE: file }).pools).toEqual({
      small: { engines: ['cwltool'], concurrency: 1 },
      wide: { engines: ['cwltool'], concurrency: 3, jobLockMs: 5000, maxAttempts: 2 },
    });
    const s = loadSettings({
      WES_CONFIG_FILE: file,
      WES_POOL_SMALL_CONCURRENCY: '2',
      WES_POOL_BIG_MEM_ENGINES: 'cwltool, toil-cwl',
      WES_POOL_BIG_MEM_CONCURRENCY: '4',
      WES_POOL_BIG_MEM_JOB_LOCK_MS: '60000',
      WES_POOL_BIG_MEM_MAX_ATTEMPTS: '1',
      WES_WORKER_POOLS: 'small,big-mem',
      WES_ENGINE_POOLS: 'cwltool=big-mem',
    });
    expect(s.pools.small).toEqual({ engines: ['cwltool'], concurrency: 2 });
    expect(s.pools['big-mem']).toEqual({ engines: ['cwltool', 'toil-cwl'], concurrency: 4, jobLockMs: 60000, maxAttempts: 1 });
    expect(s).toMatchObject({ workerPools: 'small,big-mem', enginePools: { cwltool: 'big-mem' } });
  });

  it('refuse a pool without engines or concurrency, with an unknown field, a bad name or a value out of range, saying where', () => {
    expect(errorFor({ WES_POOL_BIG_CONCURRENCY: '2' }).message).toMatch(/WES_POOL_BIG_CONCURRENCY|pools\.big/);
    expect(errorFor({ WES_POOL_BIG_CONCURRENCY: '2' }).message).toContain('engines is missing');
    expect(errorFor({ WES_POOL_BIG_ENGINES: 'cwltool' }).message).toContain('concurrency is missing');
    expect(errorFor({ WES_POOL_BIG_ENGINES: 'cwltool', WES_POOL_BIG_CONCURRENCY: '0' }).message).toContain('WES_POOL_BIG_CONCURRENCY=0: must be a whole number from 1 to 256');
    expect(errorFor({ WES_POOL_BIG_ENGINES: 'cwltool', WES_POOL_BIG_CONCURRENCY: 'many' }).message).toContain('WES_POOL_BIG_CONCURRENCY');
    expect(errorFor({ WES_POOL_BIG_ENGINES: ' , ', WES_POOL_BIG_CONCURRENCY: '1' }).message).toContain('non-empty list of engine names');
    const file = configFile('pools:\n  small: {engines: [cwltool], concurrency: 1, cores: 4}\n');
    expect(errorFor({ WES_CONFIG_FILE: file }).message).toContain(`${file}: pools: pools.small: unknown field "cores"`);
    expect(errorFor({ WES_CONFIG_FILE: configFile('pools:\n  Big_One: {engines: [cwltool], concurrency: 1}\n') }).message).toContain('a pool name is');
    expect(errorFor({ WES_CONFIG_FILE: configFile('pools:\n  a: {engines: [cwltool], concurrency: 1, maxAttempts: 101}\n') }).message).toContain('maxAttempts=101');
    expect(errorFor({ WES_CONFIG_FILE: configFile('pools: [a, b]\n') }).message).toContain('must be a mapping of pool names');
    expect(errorFor({ WES_WORKER_POOLS: 'big;small' }).message).toContain('WES_WORKER_POOLS');
  });
});

describe('workflow allow-list setting', () => {
  it('is off by default and read from the file only', () => {
    expect(loadSettings({}).workflowAllowList).toEqual([]);
    expect(SETTING_SOURCES.workflowAllowList.env).toBeNull();
    const file = configFile(`workflowAllowList:\n  - name: hosted\n    urlPrefix: https://ok.example/wf/\n  - sha256: ["${'a'.repeat(64)}"]\n    roles: [team]\n  - trsId: "#workflow/github.com/org/repo"\n    trsVersions: ["1.0"]\n`);
    expect(loadSettings({ WES_CONFIG_FILE: file }).workflowAllowList).toEqual([
      { name: 'hosted', urlPrefix: 'https://ok.example/wf/' },
      { sha256: ['a'.repeat(64)], roles: ['team'] },
      { trsId: '#workflow/github.com/org/repo', trsVersions: ['1.0'] },
    ]);
  });

  it('stops start-up on a malformed entry, naming the file, the entry and the field', () => {
    const file = configFile('workflowAllowList:\n  - urlPrefix: https://ok.example/\n  - urlPrefix: ok.example/wf\n');
    expect(errorFor({ WES_CONFIG_FILE: file }).message).toBe(`invalid setting ${file}: workflowAllowList[1].urlPrefix: "ok.example/wf" is not an absolute URL`);
    expect(errorFor({ WES_CONFIG_FILE: configFile('workflowAllowList:\n  - name: x\n') }).message).toContain('workflowAllowList[0]: must hold exactly one of urlPrefix, sha256 or trsId');
    expect(errorFor({ WES_CONFIG_FILE: configFile('workflowAllowList: https://ok.example/\n') }).message).toContain('workflowAllowList');
  });
});

describe('signed link settings', () => {
  it('default to off (lifetime 0) with no key, and read both from the environment', () => {
    const d = loadSettings({});
    expect(d.signedLinkTtlSeconds).toBe(0);
    expect(d.linkSigningKey).toBeUndefined();
    expect(loadSettings({ WES_LINK_SIGNING_KEY: '' }).linkSigningKey).toBeUndefined();
    const key = 'k'.repeat(32);
    expect(loadSettings({ WES_SIGNED_LINK_TTL_SECONDS: '900', WES_LINK_SIGNING_KEY: key })).toMatchObject({ signedLinkTtlSeconds: 900, linkSigningKey: key });
  });

  it('refuse a negative or over-a-week lifetime, and a short key without repeating it', () => {
    expect(errorFor({ WES_SIGNED_LINK_TTL_SECONDS: '-1' }).message).toContain('WES_SIGNED_LINK_TTL_SECONDS');
    expect(errorFor({ WES_SIGNED_LINK_TTL_SECONDS: '604801' }).message).toContain('WES_SIGNED_LINK_TTL_SECONDS');
    const err = errorFor({ WES_LINK_SIGNING_KEY: 'short-secret-value' });
    expect(err.message).toContain('WES_LINK_SIGNING_KEY');
    expect(err.message).toContain('at least 32 characters');
    expect(err.message).not.toContain('short-secret-value');
  });
});

describe('S3 input client settings', () => {
  it('are unset by default, and read from WES_S3_INPUT_* (empty: unset)', () => {
    const d = loadSettings({ WES_S3_INPUT_ENDPOINT: '', WES_S3_INPUT_ACCESS_KEY_ID: '', WES_S3_INPUT_SECRET_ACCESS_KEY: '' });
    expect([d.s3InputEndpoint, d.s3InputRegion, d.s3InputAccessKeyId, d.s3InputSecretAccessKey]).toEqual([undefined, undefined, undefined, undefined]);
    const s = loadSettings({
      WES_S3_INPUT_ENDPOINT: 'http://inputs:9000',
      WES_S3_INPUT_REGION: 'eu-west-1',
      WES_S3_INPUT_ACCESS_KEY_ID: 'reader',
      WES_S3_INPUT_SECRET_ACCESS_KEY: 'reader-secret',
    });
    expect(s).toMatchObject({ s3InputEndpoint: 'http://inputs:9000', s3InputRegion: 'eu-west-1', s3InputAccessKeyId: 'reader', s3InputSecretAccessKey: 'reader-secret' });
  });

  it('refuse a key id without its secret (and the reverse), and an endpoint that is no URL, without repeating a secret', () => {
    expect(errorFor({ WES_S3_INPUT_ACCESS_KEY_ID: 'reader' }).message).toContain('WES_S3_INPUT_SECRET_ACCESS_KEY');
    const err = errorFor({ WES_S3_INPUT_SECRET_ACCESS_KEY: 'reader-secret' });
    expect(err.message).toContain('WES_S3_INPUT_ACCESS_KEY_ID');
    expect(err.message).not.toContain('reader-secret');
    expect(errorFor({ WES_S3_INPUT_ENDPOINT: 'inputs:9000' }).message).toContain('WES_S3_INPUT_ENDPOINT');
  });
});
