#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Counts the lines, words and bytes of a text file.
baseCommand: [wc]
inputs:
  text:
    type: File
stdin: $(inputs.text.path)
stdout: counts.txt
outputs:
  counts:
    type: stdout
