#!/usr/bin/env cwl-runner
# Sleeps for `seconds`, given as text so tests can pass a short duration with a unique
# fraction (e.g. "4.318265"): `sleep 4.318265` is then easy to find in /proc.
cwlVersion: v1.1
class: CommandLineTool
baseCommand: sleep
inputs:
  seconds:
    type: string
    inputBinding:
      position: 1
outputs: []
