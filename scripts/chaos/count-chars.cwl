#!/usr/bin/env cwl-runner
# Chaos fixture: counts the characters of a file.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [wc, -c]
inputs:
  file:
    type: File
    inputBinding: {position: 1}
stdout: count.txt
outputs:
  count:
    type: stdout
