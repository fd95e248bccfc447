#!/usr/bin/env cwl-runner
# Concatenates each File with its secondary file (reads.txt.bai; sample.idx by the ^ pattern).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  reads:
    type: File
    secondaryFiles: [.bai]
    inputBinding:
      position: 1
  sample:
    type: File
    secondaryFiles:
      - pattern: ^.idx
        required: true
    inputBinding:
      position: 3
arguments:
  - position: 2
    valueFrom: $(inputs.reads.path).bai
  - position: 4
    valueFrom: $(inputs.sample.dirname)/$(inputs.sample.nameroot).idx
outputs:
  out:
    type: stdout
stdout: out.txt
