#!/usr/bin/env cwl-runner
# Copies a Directory (adding an empty sub-folder) and lists what the copy holds.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs:
  folder: Directory
arguments:
  - shellQuote: false
    valueFrom: cp -RL $(inputs.folder.path) copy && chmod -R u+w copy && mkdir copy/empty && (cd copy && find . | sort) > listing.txt
outputs:
  listing:
    type: File
    outputBinding:
      glob: listing.txt
  copy:
    type: Directory
    outputBinding:
      glob: copy
