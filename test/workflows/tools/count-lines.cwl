#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [wc, -l]
inputs:
  inp: File
stdin: $(inputs.inp.path)
outputs:
  out:
    type: stdout
stdout: count.txt
