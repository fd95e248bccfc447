#!/usr/bin/env cwl-runner
# Cancel-latency fixture: sleeps `seconds` (long enough to be cancelled while it runs).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: sleep
inputs:
  seconds:
    type: int
    inputBinding: {position: 1}
outputs: []
