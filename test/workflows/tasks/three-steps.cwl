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
# (The echo jobs' files are no output: cwltool 3.1 relocates same-named files of a scatter
# under names it does not create, argv.txt_2..., and reports them.)
outputs:
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
