/**
 * The last guard of a shutdown: once SIGTERM or SIGINT has come, the process exits (code 1, with
 * a line on stderr) if it is still there `budgetMs` later. Each step of the shutdown is bounded
 * on its own (connection-closing.ts); this catches a step that is not (a hook added later, a
 * library waiting on a dead server), so that an orchestrator's stop never needs a SIGKILL.
 * Engines need nothing from it: their process group gets the stop signal when the worker dies
 * (parent-death signal).
 */
export function exitIfShutdownHangs(processName: string, budgetMs: number): void {
  let armed = false;
  const arm = (signal: NodeJS.Signals) => {
    if (armed) return;
    armed = true;
    setTimeout(() => {
      process.stderr.write(`${processName}: still shutting down ${budgetMs} ms after ${signal}: exiting\n`);
      process.exit(1);
    }, budgetMs).unref();
  };
  // `once`: the signal Nest raises again after its shutdown hooks must find no listener of ours.
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}
