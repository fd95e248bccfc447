#!/usr/bin/env cwl-runner
# Three steps in a row: `echo` scattered over `words`, the ExpressionTool `count`, and `fail`,
# which exits with `code` (3: the run fails; 0: it completes).
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: string[]
  code: int
outputs:
  argv:
    type: File[]
    outputSource: echo/out
  total:
    type: int
    outputSource: count/count
steps:
  echo:
    run: argv.cwl
    scatter: word
    in:
      word: words
    out: [out]
  count:
    run: count.cwl
    in:
      files: echo/out
    out: [count]
  fail:
    run: finish.cwl
    in:
      code: code
      count: count/count
    out: []
