#!/usr/bin/env cwl-runner
# Two-step workflow: reverse every line of a file, then count the lines of the result.
# The steps live in tools/ so that a submission needs attachments in sub-folders.
cwlVersion: v1.2
class: Workflow
inputs:
  inp: File
outputs:
  reversed:
    type: File
    outputSource: reverse/out
  count:
    type: File
    outputSource: count_lines/out
steps:
  reverse:
    run: tools/rev.cwl
    in:
      inp: inp
    out: [out]
  count_lines:
    run: tools/count-lines.cwl
    in:
      inp: reverse/out
    out: [out]
