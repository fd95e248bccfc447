#!/usr/bin/env cwl-runner
# Sleeps for `seconds`: tests give a unique number, so the process can be found in /proc.
cwlVersion: v1.1
class: CommandLineTool
baseCommand: sleep
inputs:
  seconds:
    type: int
    inputBinding:
      position: 1
outputs: []
