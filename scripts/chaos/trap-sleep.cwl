#!/usr/bin/env cwl-runner
# Cancel-latency fixture: a tool that ignores SIGINT and SIGTERM and sleeps `seconds`, so only
# SIGKILL (after the grace period) ends it.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'trap "" INT TERM; exec sleep "$0"']
inputs:
  seconds:
    type: int
    inputBinding: {position: 1}
outputs: []
