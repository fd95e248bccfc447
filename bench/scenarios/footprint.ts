/**
 * Scenario 8, footprint: Redis bytes per finished run and process RSS. The figures are taken
 * where the runs are made: bytes per run and RSS at N stored runs by the list scenario (N
 * finished runs written through the state machine), bytes per run through the API by the
 * throughput scenario (no-op engine), which then deletes those runs through the API and
 * measures what they leave (Redis and store bytes back at the baseline). This only turns them
 * into lines of the table.
 */
import { row, Row } from '../lib/util';

/** Issue 15's bar (it was 2,048 B). */
const GOAL_BYTES = 1024;

/** The sampled run's hashes as the note shows them: the doc hash only when there is one (a long field too long for pieces, or a run recorded before them). */
function hashesNote(run: any, doc: any): string {
  const docPart = doc?.encoding ? `, doc hash ${doc.encoding} ${doc.memoryUsage} B` : ', no doc hash';
  return `run hash ${run?.encoding} ${run?.memoryUsage} B (${run?.fields} fields)${docPart} (MEMORY USAGE)`;
}

export function footprintRows(fromList: any, fromThroughput: any): Row[] {
  const rows: Row[] = [];
  const n = fromList?.storedRuns;
  const nLabel = n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
  if (fromList) {
    rows.push(
      row({
        id: '8',
        scenario: `Redis bytes per finished run (${nLabel} runs via the state machine)`,
        unit: 'B',
        ours: fromList.redisBytesPerFinishedRun,
        baseline: null,
        goal: `≤ ${GOAL_BYTES} B`,
        met: fromList.redisBytesPerFinishedRun <= GOAL_BYTES,
        note: hashesNote(fromList.sampleRunHash, fromList.sampleDocHash),
      }),
    );
  }
  if (fromThroughput) {
    rows.push(
      row({
        id: '8',
        scenario: `Redis bytes per finished run (${fromThroughput.runs} runs via the API)`,
        unit: 'B',
        ours: fromThroughput.bytesPerRun,
        baseline: null,
        goal: `≤ ${GOAL_BYTES} B`,
        met: fromThroughput.bytesPerRun <= GOAL_BYTES,
        note: `BullMQ event stream excluded (${fromThroughput.bytesPerRunWithEvents} B/run with it); ${hashesNote(fromThroughput.sampleRunHash, fromThroughput.sampleDocHash)}`,
      }),
    );
  }
  const left = fromThroughput?.afterDelete;
  if (left) {
    rows.push(
      row({
        id: '8',
        scenario: `Redis bytes left per run after deleting the ${left.deleted} runs via the API`,
        unit: 'B',
        ours: left.redisBytesLeftPerRun,
        baseline: null,
        goal: '≤ 64 B',
        // Not 0: a sorted set that grew past Redis's listpack size keeps its larger encoding.
        met: left.redisBytesLeftPerRun <= 64,
      }),
      row({
        id: '8',
        scenario: `store bytes left after deleting them (${fromThroughput.storeBytesPerRun} B per run before)`,
        unit: 'B',
        ours: left.storeBytesLeft,
        baseline: null,
        goal: '0 B',
        met: left.storeBytesLeft <= 0,
      }),
    );
  }
  if (fromList) {
    const r = fromList.rssMiB;
    rows.push(
      row({
        id: '8',
        scenario: `API RSS after list load and a full GC: ${nLabel} stored runs vs 1k`,
        unit: 'MiB',
        ours: r.apiAtN,
        baseline: r.apiAt1k,
        goal: '≤ 1.1×',
        met: r.apiAtN / r.apiAt1k <= 1.1,
      }),
      row({ id: '8', scenario: `API V8 heap used after it: ${nLabel} stored runs vs 1k`, unit: 'MiB', ours: fromList.heapUsedMiB.apiAtN, baseline: fromList.heapUsedMiB.apiAt1k, goal: '—', met: null }),
      row({ id: '8', scenario: `API RSS: at ${nLabel} runs vs idle`, unit: 'MiB', ours: r.apiAtN, baseline: r.apiIdle, goal: '—', met: null }),
      row({ id: '8', scenario: `worker RSS: at ${nLabel} runs vs idle`, unit: 'MiB', ours: r.workerAtN, baseline: r.workerIdle, goal: '—', met: null }),
    );
  }
  return rows;
}
