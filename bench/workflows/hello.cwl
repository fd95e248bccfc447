#!/usr/bin/env cwl-runner
# Benchmark fixture: the small attachment of scenarios 1-4 and 6-8 (their engines do not read it).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  message:
    type: string
    inputBinding: {position: 1}
stdout: hello.txt
outputs:
  out:
    type: stdout
