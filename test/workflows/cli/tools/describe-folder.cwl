#!/usr/bin/env cwl-runner
# Writes a Directory's name and what it holds (an empty Directory: its name alone).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'basename "$0"; ls -A "$0"']
inputs:
  d:
    type: Directory
    inputBinding:
      position: 1
outputs:
  described:
    type: stdout
stdout: described.txt
