#!/usr/bin/env cwl-runner
# Writes its arguments and "oops" to its captured stderr, then exits with `code`. It is the last
# step: it lingers 0.3 s so that its capture is open before cwltool ends the run and removes its
# folder (a capture of a job over within milliseconds can be missed, and is noted: see
# ARCHITECTURE.md, Tasks; the tracker spec covers that case).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'tr "\0" "\n" < /proc/$$/cmdline >&2; echo oops >&2; sleep 0.3; exit $1', finish]
inputs:
  code:
    type: int
    inputBinding:
      position: 1
  count:
    type: int
    inputBinding:
      position: 2
outputs: []
stderr: err.txt
