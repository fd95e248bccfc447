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
 */
export function splitRunFields(fields: Record<string, string>, fresh = false): { short: [string, string][]; long: [string, string][] } {
  const short: [string, string][] = [];
  const long: [string, string][] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (fresh && value === '') continue;
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

/** A long field of a run from its hashes: its pieces in the run hash, else its doc hash copy. */
export function readRunField(run: Record<string, string>, doc: Record<string, string>, name: string): string | undefined {
  if (run[name] === undefined) return doc[name] || undefined;
  let value = '';
  for (let i = 0; i < INLINE_PIECES && run[pieceField(name, i)] !== undefined; i++) value += run[pieceField(name, i)];
  return value;
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
