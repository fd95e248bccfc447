#!/usr/bin/env cwl-runner
# Chaos fixture: sleep-echo, then count-chars of its output (two engine steps, two tool processes).
cwlVersion: v1.2
class: Workflow
inputs:
  seconds: float
  message: string
outputs:
  count:
    type: File
    outputSource: count/count
steps:
  echo:
    run: sleep-echo.cwl
    in:
      seconds: seconds
      message: message
    out: [out]
  count:
    run: count-chars.cwl
    in:
      file: echo/out
    out: [count]
