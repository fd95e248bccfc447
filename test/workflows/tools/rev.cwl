#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
baseCommand: rev
inputs:
  inp:
    type: File
    inputBinding:
      position: 1
outputs:
  out:
    type: stdout
stdout: reversed.txt
