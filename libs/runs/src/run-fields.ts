/**
 * How a run's fields lie in Redis (bench scenario 8, the run's footprint). Every field is kept
 * in the one run hash, which Redis keeps as a compact listpack only while every value is at
 * most `hash-max-listpack-value` bytes (64 by default) and the hash has few fields: a single
 * longer value turns the whole hash into a hashtable, several times the memory. So a long
 * field (those of RUN_DOC_FIELDS: the request, the command line, the outputs...) is cut into
 * pieces of at most PIECE_BYTES bytes, `<name>`, `<name>:1`, `<name>:2`..., up to INLINE_PIECES
 * pieces; a longer one goes whole to the run's `doc` hash (a hashtable, and the only place of
 * the long fields of runs recorded before this layout: readers look there when the run hash
 * has no such field). An empty value means "no such field": writers delete the field instead.
 */

/** Fields that can be long: cut into pieces in the run hash, or kept whole in the doc hash. */
export const RUN_DOC_FIELDS: ReadonlySet<string> = new Set(['request', 'tags', 'workflow', 'attachments', 'cmd', 'outputs']);

/** Most bytes of one piece: Redis's default hash-max-listpack-value. */
export const PIECE_BYTES = 64;

/** Most pieces of one field in the run hash; a longer value goes to the doc hash. */
export const INLINE_PIECES = 8;

/** The field of the run hash holding piece `i` (from 0) of field `name`. */
export function pieceField(name: string, i: number): string {
  return i === 0 ? name : `${name}:${i}`;
}

/** Cuts a value into pieces of at most PIECE_BYTES UTF-8 bytes, never inside a character. */
export function cutPieces(value: string): string[] {
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > PIECE_BYTES) {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += n;
  }
  if (piece || pieces.length === 0) pieces.push(piece);
  return pieces;
}

/**
 * The writes of some record fields: field/value pairs for the run hash and for the doc hash,
 * an empty value meaning "delete the field" (the scripts and setFields do). A long field
 * replaces whatever an earlier write of it left: its other pieces, or its copy in the doc hash.
 * `fresh`: a new record, where there is nothing to delete (and empty values are left out).
 * PACKED_FIELDS are packed (packValue); a holder's host and pid are left out when its worker
 * id names them (compactHolder).
 */
export function splitRunFields(fields: Record<string, string>, fresh = false): { short: [string, string][]; long: [string, string][] } {
  const short: [string, string][] = [];
  const long: [string, string][] = [];
  for (const [name, written] of Object.entries(compactHolder(fields))) {
    if (fresh && written === '') continue;
    const value = PACKED_FIELDS.has(name) ? packValue(written) : written;
    if (!RUN_DOC_FIELDS.has(name)) {
      short.push([name, value]);
      continue;
    }
    const pieces = value === '' ? [] : cutPieces(value);
    const inline = pieces.length <= INLINE_PIECES;
    if (inline) pieces.forEach((p, i) => short.push([pieceField(name, i), p]));
    else long.push([name, value]);
    if (fresh) continue;
    for (let i = inline ? pieces.length : 0; i < INLINE_PIECES; i++) short.push([pieceField(name, i), '']);
    if (inline) long.push([name, '']);
  }
  return { short, long };
}

/** A long field of a run from its hashes: its pieces in the run hash, else its doc hash copy (unpacked: packValue). */
export function readRunField(run: Record<string, string>, doc: Record<string, string>, name: string): string | undefined {
  let value: string | undefined;
  if (run[name] === undefined) value = doc[name] || undefined;
  else {
    value = '';
    for (let i = 0; i < INLINE_PIECES && run[pieceField(name, i)] !== undefined; i++) value += run[pieceField(name, i)];
  }
  return value !== undefined && PACKED_FIELDS.has(name) ? unpackValue(value) : value;
}

/**
 * The fields with a holder's `host` and `wpid` emptied (deleted: an earlier holder's go too)
 * when its `worker` id names them (workerIdPlace): readers take them from the id (holderPlace).
 */
function compactHolder(fields: Record<string, string>): Record<string, string> {
  const place = workerIdPlace(fields.worker);
  if (!place || fields.host !== place.host || fields.wpid !== String(place.pid)) return fields;
  return { ...fields, host: '', wpid: '' };
}

/** The run hash fields that hold a long field's pieces (HMGET them, then joinPieces). */
export function pieceFields(name: string): string[] {
  return Array.from({ length: INLINE_PIECES }, (_, i) => pieceField(name, i));
}

/** A long field from the HMGET of its pieceFields (undefined: none in the run hash). */
export function joinPieces(values: (string | null)[]): string | undefined {
  if (values[0] == null) return undefined;
  let value = '';
  for (const v of values) {
    if (v == null) break;
    value += v;
  }
  return value;
}

/**
 * Lua: `readLong(key, name)`, a long field of the run whose hash is `key`: its pieces there,
 * else its copy in `key .. ':doc'` (false when neither). Keep it alike readRunField.
 */
export const READ_LONG_LUA = `
local function readLong(key, name)
  local fields = {name}
  for i = 1, ${INLINE_PIECES - 1} do fields[i + 1] = name .. ':' .. i end
  local pieces = redis.call('HMGET', key, unpack(fields))
  if not pieces[1] then return redis.call('HGET', key .. ':doc', name) end
  local v = pieces[1]
  for i = 2, #pieces do
    if not pieces[i] then break end
    v = v .. pieces[i]
  end
  return v
end
`;

/**
 * Long fields recorded packed (packValue): frequent substrings each stand for one control
 * character, so a command line or an output object of a small run fits one or two pieces (run
 * footprint, bench scenario 8). Only fields no Lua script reads (the scripts read `tags`).
 */
export const PACKED_FIELDS: ReadonlySet<string> = new Set(['cmd', 'outputs']);

/** First character of a packed value: a recorded command line starts with NUL (or `{`), outputs with `{`. */
const PACK_MARK = '\x1f';

/**
 * What the characters of a packed value stand for: PACK_TOKENS[i] for PACK_CODES[i]. The run
 * folder's layout (libs/engines sandbox, as the client is shown it), the arguments of the
 * engines' command lines and the keys of CWL File and Directory objects (output locations as
 * the workers record them). Records name a token by its character: APPEND ONLY, never reorder.
 */
const PACK_TOKENS = [
  '<run>/attachments/',
  '<run>/outputs',
  '<run>/tmp/',
  '<run>/inputs/',
  '<run>/',
  'wes-params.json',
  '--tmp-outdir-prefix',
  '--tmpdir-prefix',
  '--disable-color',
  '--outdir',
  'cwltool',
  '"location":"wes-output:',
  '","basename":"',
  '"class":"File"',
  '"class":"Directory"',
  '"checksum":"sha1$',
  '"size":',
  '"listing":[',
  'nextflow',
  'snakemake',
];

/** Control characters that are none of TAB, LF, CR (a value holding one is left unpacked). */
const PACK_CODES = ['\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07', '\x08', '\x0b', '\x0c', ...Array.from({ length: 16 }, (_, i) => String.fromCharCode(0x0e + i))];
const RESERVED = /[\x01-\x08\x0b\x0c\x0e-\x1f]/;
const TOKEN_OF = new Map(PACK_TOKENS.map((t, i) => [t, PACK_CODES[i]]));
const CODE_OF = new Map(PACK_CODES.slice(0, PACK_TOKENS.length).map((c, i) => [c, PACK_TOKENS[i]]));
const TOKENS = new RegExp(
  [...PACK_TOKENS]
    .sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'g',
);
const CODES = new RegExp(`[${PACK_CODES.slice(0, PACK_TOKENS.length).join('')}]`, 'g');

/**
 * A PACKED_FIELDS value as recorded: PACK_MARK, then the value with each token replaced by its
 * character. A value that holds such a character already is recorded as it is (unpackValue
 * reads both, and the values of records of before the packing).
 */
export function packValue(value: string): string {
  if (value === '' || RESERVED.test(value)) return value;
  return PACK_MARK + value.replace(TOKENS, (t) => TOKEN_OF.get(t)!);
}

/** A PACKED_FIELDS value as written, from its record (packValue, or unpacked). */
export function unpackValue(recorded: string): string {
  if (!recorded.startsWith(PACK_MARK)) return recorded;
  return recorded.slice(1).replace(CODES, (c) => CODE_OF.get(c)!);
}

/**
 * A worker id as workers make them (formatWorkerId): its host and pid can be read from it, so
 * a run's holder fields leave them out (run footprint) and readers take them from the id.
 */
export function formatWorkerId(host: string, pid: number, suffix: string): string {
  return `${host}:${pid}:${suffix}`;
}

/** The host and pid a worker id of formatWorkerId names (undefined: an id of another form). */
export function workerIdPlace(workerId: string | null | undefined): { host: string; pid: number } | undefined {
  const m = workerId ? /^([^:]+):(\d+):[^:]+$/.exec(workerId) : null;
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}

/**
 * A run's holder host and pid: its `host` and `wpid` fields, or (records since the holder
 * fields leave them out) those its `worker` id names.
 */
export function holderPlace(worker: string | null | undefined, host: string | null | undefined, wpid: string | null | undefined): { host?: string; workerPid?: number } {
  if (host || wpid) return { host: host || undefined, workerPid: wpid ? Number(wpid) : undefined };
  const place = workerIdPlace(worker);
  return { host: place?.host, workerPid: place?.pid };
}
