#!/usr/bin/env cwl-runner
# Writes its arguments and "oops" to its captured stderr, then exits with `code`.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'tr "\0" "\n" < /proc/$$/cmdline >&2; echo oops >&2; exit $1', finish]
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
