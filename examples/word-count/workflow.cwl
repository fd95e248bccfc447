#!/usr/bin/env cwl-runner
# Two steps: upper-case a text file, then count its words.
# Submitted by scripts/quickstart.sh; see the README for the curl command.
cwlVersion: v1.2
class: Workflow
doc: Upper-cases a text file, then counts its lines, words and bytes.

inputs:
  text:
    type: File
    doc: Any text file.

outputs:
  shouted:
    type: File
    outputSource: shout/shouted
  counts:
    type: File
    outputSource: count/counts

steps:
  shout:
    run: tools/shout.cwl
    in:
      text: text
    out: [shouted]
  count:
    run: tools/count.cwl
    in:
      text: shout/shouted
    out: [counts]
