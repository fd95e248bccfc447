#!/usr/bin/env cwl-runner
# A tool that writes `marker` to stderr and exits 3: the run must end EXECUTOR_ERROR.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh, -c, 'echo "$0" >&2; exit 3']
inputs:
  marker:
    type: string
    inputBinding:
      position: 1
outputs: []
