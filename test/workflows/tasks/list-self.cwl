#!/usr/bin/env cwl-runner
# A step that lists the folder it runs in. Under cwltool alone that folder holds the step's own
# stdout: file while it runs, so the listing names it: a server must not move that file
# elsewhere. A second step follows, so the first step's folder outlives its end (cwltool keeps
# intermediate folders until the workflow ends) and its captured stdout is always there to
# store: a lone tool's capture can be moved into the outputs within milliseconds of its end.
cwlVersion: v1.2
class: Workflow
inputs: []
outputs:
  listing:
    type: File
    outputSource: list/listing
steps:
  list:
    run:
      class: CommandLineTool
      baseCommand: ls
      inputs: []
      outputs:
        listing: stdout
      stdout: listing.txt
    in: {}
    out: [listing]
  after:
    run:
      class: CommandLineTool
      baseCommand: [cat]
      inputs:
        f: {type: File, inputBinding: {}}
      outputs:
        copy: stdout
      stdout: copy.txt
    in: {f: list/listing}
    out: [copy]
