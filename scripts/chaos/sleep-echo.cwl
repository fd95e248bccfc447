#!/usr/bin/env cwl-runner
# Chaos fixture: sleeps `seconds`, echoes `message` into message.txt, exits with `exit_code`
# (non-zero: the run must end EXECUTOR_ERROR).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'sleep "$0"; echo "$1"; exit "$2"']
inputs:
  seconds:
    type: float
    inputBinding: {position: 1}
  message:
    type: string
    inputBinding: {position: 2}
  exit_code:
    type: int
    default: 0
    inputBinding: {position: 3}
stdout: message.txt
outputs:
  out:
    type: stdout
