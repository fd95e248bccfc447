#!/usr/bin/env cwl-runner
# One step that sleeps for `seconds`: its task shows while the run is RUNNING.
cwlVersion: v1.2
class: Workflow
inputs:
  seconds: int
outputs: []
steps:
  nap:
    run: nap.cwl
    in:
      seconds: seconds
    out: []
