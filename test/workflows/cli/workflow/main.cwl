#!/usr/bin/env cwl-runner
# What `wes run` must find on its own: tools in a sub-folder (tools/) and in a sibling folder of
# the workflow's (../tools/greet.cwl, whose input has a File default next to it), a File input
# with a secondaryFile the job lists, one whose secondaryFile only the input's pattern names, and
# a Directory input.
cwlVersion: v1.2
class: Workflow
inputs:
  reads:
    type: File
    secondaryFiles: [.bai]
  sample:
    type: File
    secondaryFiles:
      - pattern: ^.idx
        required: true
  folder: Directory
outputs:
  combined:
    type: File
    outputSource: combine/out
  greeting:
    type: File
    outputSource: greet/out
  listing:
    type: File
    outputSource: copy_folder/listing
  copy:
    type: Directory
    outputSource: copy_folder/copy
steps:
  combine:
    run: tools/combine.cwl
    in:
      reads: reads
      sample: sample
    out: [out]
  greet:
    run: ../tools/greet.cwl
    in: {}
    out: [out]
  copy_folder:
    run: tools/copy-folder.cwl
    in:
      folder: folder
    out: [listing, copy]
