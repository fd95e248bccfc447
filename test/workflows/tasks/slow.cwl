#!/usr/bin/env cwl-runner
# A step that sleeps, then one that echoes: the first task shows while the run goes on.
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
