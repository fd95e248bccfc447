#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Upper-cases a text file.
baseCommand: [tr, "a-z", "A-Z"]
inputs:
  text:
    type: File
stdin: $(inputs.text.path)
stdout: shouted.txt
outputs:
  shouted:
    type: stdout
