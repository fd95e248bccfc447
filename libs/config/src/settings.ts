import { IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';
import type { WorkflowAllowListEntry } from '../../workflow-allow-list/src';

/** One user of `authMode: static` (YAML only): a bearer token's sha256, a password's scrypt hash, or both. */
export interface AuthUser {
  /** Owner name of the user's runs: letters, digits, `_ . @ -`, at most 64. */
  name: string;
  /** `admin` sees and cancels every run. */
  roles: string[];
  /** Hex sha256 of the bearer token (`wes auth-hash token`). */
  tokenSha256?: string;
  /** `scrypt$N$r$p$<salt base64>$<hash base64>` (`wes auth-hash password`). */
  passwordScrypt?: string;
  /** This user's active-run limit instead of limitActiveRunsPerUser (0: none). */
  maxActiveRuns?: number;
  /** This user's submit rate limit instead of limitSubmitsPerMinute (0: none). */
  submitsPerMinute?: number;
}

/**
 * One worker pool as configured (YAML `pools: {<name>: {...}}`, or WES_POOL_<NAME>_* variables):
 * a queue of its own whose runs only the workers serving it take. Checked by checkPoolSettings
 * (shape) and, against the engine table, by the pool table (libs/queue/src/worker-pools.ts).
 */
export interface PoolSetting {
  /** Engines whose runs this pool takes (names of the engine table); required. */
  engines: string[];
  /** Runs one worker serving this pool executes at once from it; required. */
  concurrency: number;
  /** The pool's BullMQ job lock in milliseconds; unset: jobLockMs. */
  jobLockMs?: number;
  /** Attempts a run of this pool gets under the requeue policy; unset: maxAttempts. */
  maxAttempts?: number;
  /**
   * YAML only: engine options for this pool's runs, over the worker's `engineOptions` (e.g.
   * `{snakemake: {cores: "8"}}` for a pool of big runs), checked like those.
   */
  engineOptions?: Record<string, Record<string, string>>;
}

/** A configured key prefix: a name, or a name holding one non-empty `{hash tag}` (`acme-{wes}`). */
export const KEY_PREFIX_PATTERN = /^(?=.)[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\}[A-Za-z0-9_.-]*)?$/;

/**
 * Every setting of the API and the workers. Each is read from its environment variable
 * (see SETTING_SOURCES), or from the optional YAML file named by WES_CONFIG_FILE (keys are
 * the property names below); the environment wins over the file, the file over the default.
 */
export class WesSettings {
  /** Redis holding run records, the state machine and the BullMQ queue. */
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
  redisUrl = 'redis://127.0.0.1:6379';

  /**
   * Redis Sentinels (`host:port,host:port`) to ask for the current primary of
   * redisSentinelMaster; empty: Redis is at redisUrl. With them, every connection of the API and
   * the workers follows a failover; redisUrl then gives only the primary's password, user,
   * database and TLS (rediss://), not its address.
   */
  @Matches(/^((\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5})?(\s*,\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5})*$/, {
    message: 'must be empty or comma-separated host:port pairs',
  })
  redisSentinels = '';

  /** Name of the primary the Sentinels watch (their `sentinel monitor <name> …`). */
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'may hold only letters, digits, _ . -' })
  redisSentinelMaster = 'mymaster';

  /** Password of the Sentinels themselves (their `requirepass`), if they ask for one. */
  @IsOptional()
  @IsString()
  redisSentinelPassword?: string;

  /**
   * Replicas that must hold a write before it counts (0: none, asynchronous replication): the
   * API WAITs for them before answering a submit 200, a worker after claiming a run and after
   * its terminal transition, so a failover to a replica does not lose those. Not met within
   * redisReplicaAckTimeoutMs: the submit answers 503, a worker logs it and goes on. See
   * docs/REDIS.md.
   */
  @IsInt()
  @Min(0)
  @Max(16)
  redisMinReplicasAck = 0;

  /**
   * Longest wait, in milliseconds, for redisMinReplicasAck replicas to acknowledge a write. The
   * WAIT holds the shared connection: keep it well under 3 × heartbeatMs (docs/REDIS.md).
   */
  @IsInt()
  @Min(1)
  redisReplicaAckTimeoutMs = 1000;

  /**
   * Prefix of every Redis key this server writes (several deployments may share a Redis). Keys
   * carry it as a Redis Cluster hash tag, `{wes}`, so a deployment lives in one slot; a prefix
   * already holding one `{tag}` (`acme-{wes}`) is kept as it is (libs/runs deploymentKeyPrefix).
   */
  @Matches(KEY_PREFIX_PATTERN, { message: 'may hold only letters, digits, _ . - and at most one non-empty {hash tag}' })
  keyPrefix = 'wes';

  /** BullMQ queue carrying run ids from the API to the workers. */
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'may hold only letters, digits, _ . -' })
  queueName = 'wes-runs';

  /** Address the API listens on (with authMode `none`, only a loopback one unless authAllowNoneOnNetwork). */
  @IsString()
  host = '0.0.0.0';

  /** Port the API listens on (0: any free port). */
  @IsInt()
  @Min(0)
  @Max(65535)
  port = 8080;

  /** Public base URL of the API (e.g. https://wes.example.org); derived from each request's Host when empty. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute http(s) URL' })
  publicUrl?: string;

  /**
   * Reverse proxies whose X-Forwarded-Host/-Proto/-For the API believes (they set the host and
   * scheme of the URLs it returns): comma-separated addresses, CIDRs or `loopback`, `linklocal`,
   * `uniquelocal`, or a hop count. Empty: none (a client's forged header changes nothing).
   * Checked by trustProxyOf.
   */
  @IsString()
  trustedProxies = '';

  /**
   * Where the API and the workers exchange attachments, logs and outputs: `local` (the folder
   * dataDir: one machine, or a shared mount) or `s3` (any S3-compatible server: workers on any
   * machine).
   */
  @IsIn(['local', 's3'])
  objectStore: 'local' | 's3' = 'local';

  /** S3 bucket of the object store (objectStore=s3). */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' })
  s3Bucket?: string;

  /** Folder inside the bucket under which every key goes ("" for the bucket's root). */
  @IsString()
  s3Prefix = '';

  @IsString()
  @MinLength(1)
  s3Region = 'us-east-1';

  /** Endpoint of an S3-compatible server (e.g. http://minio:9000); unset for AWS S3. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute http(s) URL' })
  s3Endpoint?: string;

  /** Path-style addressing (bucket in the path, not the host name): most non-AWS servers need it. */
  @IsBoolean()
  s3ForcePathStyle = true;

  /** Static S3 credentials; unset: the AWS SDK's default chain (AWS_* variables, profile, instance role). */
  @IsOptional()
  @IsString()
  s3AccessKeyId?: string;

  @IsOptional()
  @IsString()
  s3SecretAccessKey?: string;

  /**
   * Part size, in bytes, of the S3 store's upload of a stream of unknown length (an attachment
   * as it arrives): a stream that ends within the first part goes as one PutObject, a longer
   * one as a multipart upload of parts this size (S3 takes 5 MiB to 5 GiB, and 10 000 parts at
   * most: 16 MiB parts allow objects up to 156 GiB). Each part is held in memory while sent.
   */
  @IsInt()
  @Min(5 * 1024 * 1024)
  @Max(5 * 1024 * 1024 * 1024)
  s3UploadPartBytes = 16 * 1024 * 1024;

  /**
   * Parts of one S3 upload sent at once. One upload holds at most (this + 1) × s3UploadPartBytes
   * in memory (80 MiB with the defaults), however long the stream.
   */
  @IsInt()
  @Min(1)
  @Max(64)
  s3UploadConcurrency = 4;

  /** Folder of the local object store: attachments, logs and outputs of every run. */
  @IsString()
  @MinLength(1)
  dataDir = './data/store';

  /** Folder in which each worker makes one private scratch folder per run. */
  @IsString()
  @MinLength(1)
  workDir = './data/work';

  /** Keep a run's scratch folder after it ends (for debugging); removed otherwise. */
  @IsBoolean()
  keepWorkDirs = false;

  /** Runs one worker process executes at once (the concurrency of the `default` pool when `pools` is empty). */
  @IsInt()
  @Min(1)
  @Max(256)
  workerConcurrency = 2;

  /**
   * Worker pools by name (YAML `pools: {big: {engines: [cwltool], concurrency: 1}}`, or per
   * pool WES_POOL_<NAME>_ENGINES, _CONCURRENCY, _JOB_LOCK_MS, _MAX_ATTEMPTS, the name upper
   * case with `-` as `_`). Empty: one pool, `default`, running every engine with
   * workerConcurrency, jobLockMs and maxAttempts on the queue queueName, as before pools.
   */
  @IsObject()
  pools: Record<string, PoolSetting> = {};

  /** Pools this worker serves, comma-separated (e.g. `default,big`); empty: every pool. */
  @Matches(/^[a-z0-9, -]*$/, { message: 'must be comma-separated pool names (a-z, 0-9, -)' })
  workerPools = '';

  /**
   * The pool of each engine's runs when the client names none, e.g. `cwltool=big` (YAML
   * `enginePools: {cwltool: big}`); an engine not named goes to the first pool that runs it.
   */
  @IsObject()
  enginePools: Record<string, string> = {};

  /** Milliseconds between the engine's stop signal and SIGKILL when a run is cancelled. */
  @IsInt()
  @Min(0)
  cancelGraceMs = 20_000;

  /**
   * Signal sent first to the engine's process group on cancel. Unset: the engine's own stop
   * signal (SIGTERM, except cwltool: SIGINT, which it honours in ~0.3 s, faster than SIGTERM).
   */
  @IsOptional()
  @IsIn(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGKILL'])
  cancelSignal?: NodeJS.Signals;

  /** Milliseconds between a worker's checks of the durable cancel mark of the runs it holds. */
  @IsInt()
  @Min(100)
  cancelPollMs = 5_000;

  /**
   * What happens to a run whose worker is lost (killed, machine gone): `requeue` puts it back in
   * the queue for another attempt (up to maxAttempts, each noted in system_logs), `fail` ends
   * it SYSTEM_ERROR at once.
   */
  @IsIn(['requeue', 'fail'])
  workerLossPolicy: 'requeue' | 'fail' = 'requeue';

  /** Attempts a run gets under the requeue policy before it ends SYSTEM_ERROR. */
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts = 3;

  /**
   * BullMQ job lock, in milliseconds: a worker renews it while it holds a run; when it lapses
   * (the worker died) the stalled-job check hands the job to another worker.
   */
  @IsInt()
  @Min(1000)
  jobLockMs = 30_000;

  /** Milliseconds between BullMQ's checks for stalled jobs (jobs whose lock lapsed). */
  @IsInt()
  @Min(1000)
  stalledIntervalMs = 30_000;

  /** Milliseconds between a worker's heartbeats; a worker silent for 3 heartbeats is taken as lost. */
  @IsInt()
  @Min(500)
  heartbeatMs = 5_000;

  /**
   * Milliseconds between sweeps for lost runs (by the API and every worker; one sweeps at a
   * time): CANCELING or running runs whose worker is lost, QUEUED runs whose job is missing.
   */
  @IsInt()
  @Min(500)
  reaperIntervalMs = 10_000;

  /** A QUEUED run older than this (milliseconds) has its queue job checked, and re-added if missing. */
  @IsInt()
  @Min(1000)
  queuedJobCheckMs = 60_000;

  /**
   * Days a finished run is kept (counted from its end; fractions allowed, e.g. 0.5): older ones
   * are deleted by the reaper like `DELETE /runs/{id}`, a bounded number per sweep. 0 (the
   * default): kept forever. Orphaned uploads of abandoned submits are removed a day after
   * whatever this says.
   */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  retentionDays = 0;

  /** On SIGTERM, milliseconds a worker lets its running runs go on before it hands them back. */
  @IsInt()
  @Min(0)
  drainMs = 30_000;

  /**
   * On SIGTERM, milliseconds the API lets requests in flight finish (new connections are refused,
   * kept-alive ones closed after their response); then it closes the connections still open
   * (requests waiting on an unreachable Redis, say) and exits. Below docker stop's 10 s.
   */
  @IsInt()
  @Min(0)
  apiDrainMs = 5_000;

  /** What a worker does at shutdown with runs still going after drainMs: `requeue` or `cancel`. */
  @IsIn(['requeue', 'cancel'])
  shutdownPolicy: 'requeue' | 'cancel' = 'requeue';

  /**
   * Executable of each engine, by engine name (a name on PATH or a path); an engine not named
   * runs its own default (e.g. `cwltool` on PATH). YAML `enginePaths: {cwltool: /opt/bin/cwltool}`,
   * or one variable per engine: `WES_ENGINE_<NAME>_PATH` (the name upper case, `-` as `_`, e.g.
   * WES_ENGINE_CWLTOOL_PATH). WES_CWLTOOL_PATH (YAML `cwltoolPath`) still names cwltool's,
   * deprecated. Names are checked against the engine table when a worker starts.
   */
  @IsObject()
  enginePaths: Record<string, string> = {};

  /**
   * Engines this worker runs, comma-separated names (e.g. `cwltool`). Empty: every engine of
   * the table whose executable is found (one named in enginePaths must run). A worker refuses
   * to start when an engine it is to run cannot run, or when it can run none.
   */
  @IsString()
  engines = '';

  /**
   * The engine of each workflow type when a run names none, e.g. `CWL=cwltool` (YAML
   * `defaultEngines: {CWL: cwltool}`); a type not named gets its built-in default. Checked
   * against the engine table when the API starts.
   */
  @IsObject()
  defaultEngines: Record<string, string> = {};

  /**
   * Each engine's worker-side options (YAML only), e.g. `engineOptions: {toil-cwl: {batchSystem:
   * slurm}}`, `engineOptions: {snakemake: {cores: "4"}}`: what the operator decides and no client
   * may (cwltool reads none; snakemake reads `cores`, the jobs it runs at once). Names are
   * checked against the engine table when a worker starts.
   */
  @IsObject()
  engineOptions: Record<string, Record<string, string>> = {};

  /**
   * Where engines run: `bwrap` (default), a bubblewrap sandbox of its own per run (own pid and
   * network namespaces, read-only system, only the run's folders writable, an unprivileged
   * uid, a clean environment); `none`, as plain children of the worker, which any workflow can
   * then take over (trusted single-user machines only; the worker warns at start-up).
   */
  @IsIn(['bwrap', 'none'])
  sandbox: 'bwrap' | 'none' = 'bwrap';

  /** Uid the engine runs as in the sandbox when the worker runs as root (nobody by default). */
  @IsInt()
  @Min(1)
  @Max(4294967294)
  sandboxUid = 65534;

  /** Gid the engine runs as in the sandbox when the worker runs as root (nogroup by default). */
  @IsInt()
  @Min(1)
  @Max(4294967294)
  sandboxGid = 65534;

  /**
   * Give sandboxed engines the host's network. Off: an engine reaches nothing, not even
   * loopback (the worker stages every input and the API fetches every document first). On only
   * for an engine that must talk to a cluster: a workflow can then reach whatever the worker's
   * machine can, Redis and the object store included, so protect those with credentials.
   */
  @IsBoolean()
  sandboxNetwork = false;

  /** Comma-separated host folders sandboxed engines may read besides the system's (e.g. /opt/conda). */
  @IsString()
  sandboxReadOnlyPaths = '';

  /**
   * Output file URLs in RunLog.outputs: `api` (served by this API from the object store, with
   * the API's credentials) or `presigned` (time-limited S3 URLs; objectStore=s3 only).
   */
  @IsIn(['api', 'presigned'])
  outputUrls: 'api' | 'presigned' = 'api';

  /** Lifetime of presigned output URLs, in seconds. */
  @IsInt()
  @Min(60)
  @Max(604_800)
  presignExpirySeconds = 3600;

  /** Largest workflow or input file fetched from a URL, in bytes. */
  @IsInt()
  @Min(1)
  fetchMaxBytes = 1024 * 1024 * 1024;

  /**
   * Largest stdout or stderr a task captured (a CWL tool's `stdout:`/`stderr:`) that is stored
   * as the task's log, in bytes; a larger one is not, and the task's system_logs say so.
   */
  @IsInt()
  @Min(0)
  taskLogMaxBytes = 64 * 1024 * 1024;

  /** Time allowed for one fetch from a URL, in milliseconds. */
  @IsInt()
  @Min(100)
  fetchTimeoutMs = 60_000;

  @IsInt()
  @Min(0)
  @Max(20)
  fetchMaxRedirects = 5;

  /**
   * Comma-separated CIDRs that fetches may reach although private, loopback or link-local
   * (e.g. "10.1.0.0/16,127.0.0.1/32"); empty: none (no SSRF through workflow_url or inputs).
   */
  @Matches(/^$|^[0-9a-fA-F:.]+(\/\d{1,3})?(,[0-9a-fA-F:.]+(\/\d{1,3})?)*$/, { message: 'must be comma-separated CIDRs' })
  fetchAllowCidrs = '';

  /** Comma-separated folders under which file:// workflow_url and inputs may be read; empty: file:// refused. */
  @IsString()
  fileAllowDirs = '';

  /**
   * Comma-separated s3:// locations (`s3://bucket` or `s3://bucket/prefix`) from which
   * workflow_url and inputs may be read, with the S3 settings' credentials (or the s3Input*
   * ones); empty: s3:// refused.
   * The object store's own bucket and prefix are refused whatever this holds.
   */
  @Matches(/^$|^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^,]*)?(\s*,\s*s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^,]*)?)*$/, {
    message: 'must be comma-separated s3://bucket or s3://bucket/prefix locations',
  })
  s3InputAllow = '';

  /**
   * Endpoint of the S3-compatible server user inputs (s3:// URLs) are read from, when it is not
   * the object store's. Setting any WES_S3_INPUT_* gives inputs an S3 client of their own (each
   * unset one takes its WES_S3_* counterpart), so the store's credentials, which can write
   * every run's files, need not be the ones that read what users name: give this client a
   * read-only key.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute http(s) URL' })
  s3InputEndpoint?: string;

  /** Region of the user inputs' S3 client; unset: s3Region. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  s3InputRegion?: string;

  /** Static credentials of the user inputs' S3 client (a read-only key); unset: the store's (s3AccessKeyId). */
  @IsOptional()
  @IsString()
  s3InputAccessKeyId?: string;

  @IsOptional()
  @IsString()
  s3InputSecretAccessKey?: string;

  /** Largest accepted workflow_attachment part, in bytes. */
  @IsInt()
  @Min(1)
  maxAttachmentBytes = 512 * 1024 * 1024;

  /** Largest total of a request's attachments (and of a workflow zip once unpacked), in bytes. */
  @IsInt()
  @Min(1)
  maxTotalAttachmentBytes = 2 * 1024 * 1024 * 1024;

  /** Most workflow_attachment parts in one request (and most files in a workflow zip). */
  @IsInt()
  @Min(1)
  maxAttachments = 1000;

  /** Largest accepted text field (workflow_params, tags, ...), in bytes. */
  @IsInt()
  @Min(1024)
  maxFieldBytes = 4 * 1024 * 1024;

  /** Page size of GET /runs and /tasks when the client names none, and the largest allowed. */
  @IsInt()
  @Min(1)
  defaultPageSize = 50;

  /** Largest page a client may ask for; a larger page_size is served as this. */
  @IsInt()
  @Min(1)
  maxPageSize = 1000;

  /**
   * Runs whose state and owner the API keeps in memory between polls, kept current by Redis's
   * client-side caching (CLIENT TRACKING; libs/runs TrackedRunCache); least recently polled
   * dropped first. 0: every poll of a run not finished reads Redis.
   */
  @IsInt()
  @Min(0)
  runCacheEntries = 10_000;

  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  logLevel = 'info';

  /**
   * Port of a worker's own HTTP listener (`/metrics`, `/healthz`, `/readyz`); 0: none. Several
   * workers on one machine each need their own.
   */
  @IsInt()
  @Min(0)
  @Max(65535)
  workerHttpPort = 0;

  /** Address of a worker's HTTP listener: loopback by default (a scraper elsewhere needs another). */
  @IsString()
  workerHttpHost = '127.0.0.1';

  /**
   * When set, `/metrics` (API and workers) answers only `Authorization: Bearer <this token>`.
   * Empty: open, like the health endpoints (the figures hold no run data, only counts).
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  metricsToken?: string;

  /** Organization named in service-info. */
  @IsString()
  organizationName = 'WES server';

  /** Web site of that organization (service-info organization.url). */
  @IsUrl({ require_tld: false, require_protocol: true })
  organizationUrl = 'https://github.com/ga4gh/workflow-execution-service-schemas';

  /** Where a client learns how to get credentials (service-info auth_instructions_url). */
  @IsString()
  authInstructionsUrl = '';

  /**
   * Who may call the API: `none` (anyone who reaches the port; every run is everyone's),
   * `static` (the users of authUsers, by bearer token or HTTP Basic; each sees its own runs) or
   * `oidc` (JWTs of an OpenID Connect issuer, the oidc* settings; authUsers keep working beside them).
   */
  @IsIn(['none', 'static', 'oidc'])
  authMode: 'none' | 'static' | 'oidc' = 'none';

  /** Users of authMode `static`, and the static users kept beside the JWTs of `oidc` (YAML file only: see AuthUser). */
  @IsArray()
  authUsers: AuthUser[] = [];

  /** authMode `oidc`: the issuer (`iss` of the tokens, exactly), e.g. `https://id.example.org/realms/wes`. */
  @IsString()
  oidcIssuer = '';

  /** authMode `oidc`: the audience(s) a token must name in `aud` (one, or comma-separated: any of them). */
  @IsString()
  oidcAudience = '';

  /**
   * authMode `oidc`: URL of the issuer's key set (JWKS). Empty: the `jwks_uri` of
   * `<issuer>/.well-known/openid-configuration`, read once, at the first token.
   */
  @IsString()
  oidcJwksUrl = '';

  /** authMode `oidc`: comma-separated JWS algorithms accepted; asymmetric ones only (`none` and HS* are refused). */
  @IsString()
  oidcAlgorithms = 'RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA';

  /** authMode `oidc`: seconds of clock difference allowed when checking `exp` and `nbf`. */
  @IsInt()
  @Min(0)
  @Max(600)
  oidcClockToleranceSeconds = 30;

  /** authMode `oidc`: the claim naming the user (a dotted path for a nested one); its owner is `oidc:<value>`. */
  @Matches(/^[^\s]{1,200}$/, { message: 'must name a claim (a dotted path for a nested one)' })
  oidcUserClaim = 'sub';

  /**
   * authMode `oidc`: the claim holding the user's roles, a list of strings or a space-separated
   * string; a dotted path reaches a nested one (Keycloak: `realm_access.roles`). Role `admin`
   * sees and cancels every run.
   */
  @Matches(/^[^\s]{1,200}$/, { message: 'must name a claim (a dotted path for a nested one)' })
  oidcRolesClaim = 'roles';

  /**
   * authMode `oidc`: seconds after a fetch of the key set before a token with an unknown `kid`
   * makes it fetched again (a rotated key is picked up then; unknown kids cannot hammer the issuer),
   * and a failed discovery of its URL is tried again.
   */
  @IsInt()
  @Min(0)
  @Max(3600)
  oidcJwksCooldownSeconds = 30;

  /** Let the API listen on a non-loopback address with authMode `none` (behind an authenticating proxy). */
  @IsBoolean()
  authAllowNoneOnNetwork = false;

  /**
   * Most runs a user may have not yet finished (QUEUED, INITIALIZING, RUNNING, CANCELING): a
   * submit beyond them is answered 429, so one user cannot fill the queue. 0: no limit. An
   * authUsers entry's `maxActiveRuns` overrides it for that user; admins are limited too. With
   * authMode none every caller counts as one user.
   */
  @IsInt()
  @Min(0)
  limitActiveRunsPerUser = 0;

  /**
   * Most POST /runs a user may send in a minute (fixed one-minute windows, counted in Redis so
   * every API process shares them; refused and invalid submits count too); 429 beyond. 0: no
   * limit. An authUsers entry's `submitsPerMinute` overrides it for that user.
   */
  @IsInt()
  @Min(0)
  limitSubmitsPerMinute = 0;

  /**
   * Lifetime, in seconds, of the signed links the API hands out for a run's logs and output
   * files (RunLog, TaskLogs, output listings) when an authMode other than `none` is on: such a
   * link is fetched without credentials (a browser, curl, cwltest) until it expires. 0: links
   * are not signed and need the caller's credentials like every other route.
   */
  @IsInt()
  @Min(0)
  @Max(604_800)
  signedLinkTtlSeconds = 0;

  /**
   * Secret key of the signed links' HMAC (at least 32 characters). Empty: a random key made once
   * and kept in Redis, shared by every API process. Setting it keeps links valid across a loss
   * of Redis's data; changing it ends every link handed out.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  linkSigningKey?: string;

  /**
   * Comma-separated origins (e.g. `https://app.example.org`) whose browser pages may call the
   * API (CORS); `*` for any; empty: none (browsers then refuse cross-origin calls).
   */
  @Matches(/^(\*|https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*)?$/, {
    message: 'must be empty, * or comma-separated origins such as https://app.example.org',
  })
  corsOrigins = '';

  /**
   * Workflows the API runs (YAML file only; see WorkflowAllowListEntry in
   * libs/workflow-allow-list): each entry allows by URL prefix, by the sha256 of every
   * document, or by TRS tool id, for everyone or for some roles. Empty: every workflow runs.
   */
  @IsArray()
  workflowAllowList: WorkflowAllowListEntry[] = [];
}

export type SettingKey = keyof WesSettings;

interface SettingSource {
  /** Its environment variable; null: read from the YAML file only. */
  env: string | null;
  /** `map`: `KEY=value,KEY=value` in the environment, a mapping in YAML. */
  kind: 'string' | 'int' | 'number' | 'bool' | 'yaml' | 'map';
}

/** Environment variable of each setting, and how its text is read (`satisfies`: each entry keeps its own type). */
export const SETTING_SOURCES = {
  redisUrl: { env: 'REDIS_URL', kind: 'string' },
  redisSentinels: { env: 'WES_REDIS_SENTINELS', kind: 'string' },
  redisSentinelMaster: { env: 'WES_REDIS_SENTINEL_MASTER', kind: 'string' },
  redisSentinelPassword: { env: 'WES_REDIS_SENTINEL_PASSWORD', kind: 'string' },
  redisMinReplicasAck: { env: 'WES_REDIS_MIN_REPLICAS_ACK', kind: 'int' },
  redisReplicaAckTimeoutMs: { env: 'WES_REDIS_REPLICA_ACK_TIMEOUT_MS', kind: 'int' },
  keyPrefix: { env: 'WES_KEY_PREFIX', kind: 'string' },
  queueName: { env: 'WES_QUEUE_NAME', kind: 'string' },
  host: { env: 'WES_HOST', kind: 'string' },
  port: { env: 'WES_PORT', kind: 'int' },
  publicUrl: { env: 'WES_PUBLIC_URL', kind: 'string' },
  trustedProxies: { env: 'WES_TRUSTED_PROXIES', kind: 'string' },
  objectStore: { env: 'WES_OBJECT_STORE', kind: 'string' },
  s3Bucket: { env: 'WES_S3_BUCKET', kind: 'string' },
  s3Prefix: { env: 'WES_S3_PREFIX', kind: 'string' },
  s3Region: { env: 'WES_S3_REGION', kind: 'string' },
  s3Endpoint: { env: 'WES_S3_ENDPOINT', kind: 'string' },
  s3ForcePathStyle: { env: 'WES_S3_FORCE_PATH_STYLE', kind: 'bool' },
  s3AccessKeyId: { env: 'WES_S3_ACCESS_KEY_ID', kind: 'string' },
  s3SecretAccessKey: { env: 'WES_S3_SECRET_ACCESS_KEY', kind: 'string' },
  s3UploadPartBytes: { env: 'WES_S3_UPLOAD_PART_BYTES', kind: 'int' },
  s3UploadConcurrency: { env: 'WES_S3_UPLOAD_CONCURRENCY', kind: 'int' },
  dataDir: { env: 'WES_DATA_DIR', kind: 'string' },
  workDir: { env: 'WES_WORK_DIR', kind: 'string' },
  keepWorkDirs: { env: 'WES_KEEP_WORK_DIRS', kind: 'bool' },
  workerConcurrency: { env: 'WES_WORKER_CONCURRENCY', kind: 'int' },
  // Also WES_POOL_<NAME>_ENGINES, _CONCURRENCY, _JOB_LOCK_MS and _MAX_ATTEMPTS (load-settings.ts).
  pools: { env: null, kind: 'yaml' },
  workerPools: { env: 'WES_WORKER_POOLS', kind: 'string' },
  enginePools: { env: 'WES_ENGINE_POOLS', kind: 'map' },
  cancelGraceMs: { env: 'WES_CANCEL_GRACE_MS', kind: 'int' },
  cancelSignal: { env: 'WES_CANCEL_SIGNAL', kind: 'string' },
  cancelPollMs: { env: 'WES_CANCEL_POLL_MS', kind: 'int' },
  workerLossPolicy: { env: 'WES_WORKER_LOSS_POLICY', kind: 'string' },
  maxAttempts: { env: 'WES_MAX_ATTEMPTS', kind: 'int' },
  jobLockMs: { env: 'WES_JOB_LOCK_MS', kind: 'int' },
  stalledIntervalMs: { env: 'WES_STALLED_INTERVAL_MS', kind: 'int' },
  heartbeatMs: { env: 'WES_HEARTBEAT_MS', kind: 'int' },
  reaperIntervalMs: { env: 'WES_REAPER_INTERVAL_MS', kind: 'int' },
  queuedJobCheckMs: { env: 'WES_QUEUED_JOB_CHECK_MS', kind: 'int' },
  retentionDays: { env: 'WES_RETENTION_DAYS', kind: 'number' },
  drainMs: { env: 'WES_DRAIN_MS', kind: 'int' },
  apiDrainMs: { env: 'WES_API_DRAIN_MS', kind: 'int' },
  shutdownPolicy: { env: 'WES_SHUTDOWN_POLICY', kind: 'string' },
  // Also WES_ENGINE_<NAME>_PATH and the deprecated WES_CWLTOOL_PATH (load-settings.ts).
  enginePaths: { env: null, kind: 'yaml' },
  engines: { env: 'WES_ENGINES', kind: 'string' },
  defaultEngines: { env: 'WES_DEFAULT_ENGINES', kind: 'map' },
  engineOptions: { env: null, kind: 'yaml' },
  sandbox: { env: 'WES_SANDBOX', kind: 'string' },
  sandboxUid: { env: 'WES_SANDBOX_UID', kind: 'int' },
  sandboxGid: { env: 'WES_SANDBOX_GID', kind: 'int' },
  sandboxNetwork: { env: 'WES_SANDBOX_NETWORK', kind: 'bool' },
  sandboxReadOnlyPaths: { env: 'WES_SANDBOX_RO_PATHS', kind: 'string' },
  maxAttachmentBytes: { env: 'WES_MAX_ATTACHMENT_BYTES', kind: 'int' },
  maxAttachments: { env: 'WES_MAX_ATTACHMENTS', kind: 'int' },
  maxTotalAttachmentBytes: { env: 'WES_MAX_TOTAL_ATTACHMENT_BYTES', kind: 'int' },
  outputUrls: { env: 'WES_OUTPUT_URLS', kind: 'string' },
  presignExpirySeconds: { env: 'WES_PRESIGN_EXPIRY_SECONDS', kind: 'int' },
  fetchMaxBytes: { env: 'WES_FETCH_MAX_BYTES', kind: 'int' },
  taskLogMaxBytes: { env: 'WES_TASK_LOG_MAX_BYTES', kind: 'int' },
  fetchTimeoutMs: { env: 'WES_FETCH_TIMEOUT_MS', kind: 'int' },
  fetchMaxRedirects: { env: 'WES_FETCH_MAX_REDIRECTS', kind: 'int' },
  fetchAllowCidrs: { env: 'WES_FETCH_ALLOW_CIDRS', kind: 'string' },
  fileAllowDirs: { env: 'WES_FILE_ALLOW_DIRS', kind: 'string' },
  s3InputAllow: { env: 'WES_S3_INPUT_ALLOW', kind: 'string' },
  s3InputEndpoint: { env: 'WES_S3_INPUT_ENDPOINT', kind: 'string' },
  s3InputRegion: { env: 'WES_S3_INPUT_REGION', kind: 'string' },
  s3InputAccessKeyId: { env: 'WES_S3_INPUT_ACCESS_KEY_ID', kind: 'string' },
  s3InputSecretAccessKey: { env: 'WES_S3_INPUT_SECRET_ACCESS_KEY', kind: 'string' },
  maxFieldBytes: { env: 'WES_MAX_FIELD_BYTES', kind: 'int' },
  defaultPageSize: { env: 'WES_DEFAULT_PAGE_SIZE', kind: 'int' },
  maxPageSize: { env: 'WES_MAX_PAGE_SIZE', kind: 'int' },
  runCacheEntries: { env: 'WES_RUN_CACHE_ENTRIES', kind: 'int' },
  logLevel: { env: 'LOG_LEVEL', kind: 'string' },
  workerHttpPort: { env: 'WES_WORKER_HTTP_PORT', kind: 'int' },
  workerHttpHost: { env: 'WES_WORKER_HTTP_HOST', kind: 'string' },
  metricsToken: { env: 'WES_METRICS_TOKEN', kind: 'string' },
  organizationName: { env: 'WES_ORGANIZATION_NAME', kind: 'string' },
  organizationUrl: { env: 'WES_ORGANIZATION_URL', kind: 'string' },
  authInstructionsUrl: { env: 'WES_AUTH_INSTRUCTIONS_URL', kind: 'string' },
  authMode: { env: 'WES_AUTH_MODE', kind: 'string' },
  authUsers: { env: null, kind: 'yaml' },
  oidcIssuer: { env: 'WES_OIDC_ISSUER', kind: 'string' },
  oidcAudience: { env: 'WES_OIDC_AUDIENCE', kind: 'string' },
  oidcJwksUrl: { env: 'WES_OIDC_JWKS_URL', kind: 'string' },
  oidcAlgorithms: { env: 'WES_OIDC_ALGORITHMS', kind: 'string' },
  oidcClockToleranceSeconds: { env: 'WES_OIDC_CLOCK_TOLERANCE_SECONDS', kind: 'int' },
  oidcUserClaim: { env: 'WES_OIDC_USER_CLAIM', kind: 'string' },
  oidcRolesClaim: { env: 'WES_OIDC_ROLES_CLAIM', kind: 'string' },
  oidcJwksCooldownSeconds: { env: 'WES_OIDC_JWKS_COOLDOWN_SECONDS', kind: 'int' },
  authAllowNoneOnNetwork: { env: 'WES_AUTH_ALLOW_NONE_ON_NETWORK', kind: 'bool' },
  limitActiveRunsPerUser: { env: 'WES_LIMIT_ACTIVE_RUNS_PER_USER', kind: 'int' },
  limitSubmitsPerMinute: { env: 'WES_LIMIT_SUBMITS_PER_MINUTE', kind: 'int' },
  signedLinkTtlSeconds: { env: 'WES_SIGNED_LINK_TTL_SECONDS', kind: 'int' },
  linkSigningKey: { env: 'WES_LINK_SIGNING_KEY', kind: 'string' },
  corsOrigins: { env: 'WES_CORS_ORIGINS', kind: 'string' },
  workflowAllowList: { env: null, kind: 'yaml' },
} as const satisfies { [K in SettingKey]-?: SettingSource };
