import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runForm } from './client';

/**
 * Small CWL documents for the object-store, source and limit tests (kept here rather than in
 * test/workflows so those tests are self-contained).
 */

/** Copies a (binary) File to out/sub/copy.bin and writes out/a.txt: a File and a Directory output. */
export const BINARY_TOOL = `cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs:
  blob: File
arguments:
  - valueFrom: mkdir -p out/sub && cp $(inputs.blob.path) out/sub/copy.bin && printf 'directory file\\n' > out/a.txt
    shellQuote: false
outputs:
  copy:
    type: File
    outputBinding:
      glob: out/sub/copy.bin
  folder:
    type: Directory
    outputBinding:
      glob: out
`;

/** The submission of BINARY_TOOL on `blob` (attached as data/blob.bin). */
export function binaryToolRun(blob: Uint8Array): FormData {
  return runForm({
    workflow_url: 'tools/binary.cwl',
    workflow_type: 'CWL',
    workflow_type_version: 'v1.2',
    workflow_params: { blob: { class: 'File', location: 'data/blob.bin' } },
    attachments: { 'tools/binary.cwl': BINARY_TOOL, 'data/blob.bin': blob },
  });
}

/** Concatenates an array of Files into cat.txt. */
export const CAT_TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  files:
    type: File[]
    inputBinding:
      position: 1
outputs:
  out:
    type: stdout
stdout: cat.txt
`;

/** Prints the File of a record input's field named `location` into cat.txt (a field name walkers once skipped). */
export const RECORD_TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  rec:
    type:
      type: record
      fields:
        location:
          type: File
          inputBinding: { position: 1 }
outputs:
  out: { type: stdout }
stdout: cat.txt
`;

/** Concatenates a File and its one secondary file (pattern .idx) into both.txt. */
export const SECONDARY_TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  data:
    type: File
    secondaryFiles: [.idx]
    inputBinding:
      position: 1
arguments:
  - position: 2
    valueFrom: $(inputs.data.path).idx
outputs:
  out:
    type: stdout
stdout: both.txt
`;

/** Writes "tick <i>" to stderr every `interval` seconds, `count` times (a log to follow live). */
export function tickerTool(count: number, interval: number, marker: string): string {
  const ticks = Array.from({ length: count }, (_, i) => i + 1).join(' ');
  return `cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs: []
arguments:
  - valueFrom: for i in ${ticks}; do echo "${marker} tick $i" >&2; sleep ${interval}; done; echo done > done.txt
    shellQuote: false
outputs:
  done:
    type: File
    outputBinding:
      glob: done.txt
`;
}

/** Every file (not folder) under a folder, as sorted relative paths; [] when it does not exist. */
export function filesUnder(dir: string, ignore: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (ignore(r)) continue;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** `count` pseudo-random but reproducible bytes, every byte value included. */
export function binaryBlob(count: number): Buffer {
  const b = Buffer.alloc(count);
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = i < 256 ? i : x >>> 16;
  }
  return b;
}
