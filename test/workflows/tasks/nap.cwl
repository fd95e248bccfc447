#!/usr/bin/env cwl-runner
# Sleeps for `seconds`, then writes "rested" to its captured stdout.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'sleep "$0"; echo rested']
inputs:
  seconds:
    type: int
    inputBinding:
      position: 1
outputs: []
stdout: nap.txt
