#!/usr/bin/env cwl-runner
# Lists the folder it runs in. Under cwltool alone that folder holds the tool's own stdout: file
# while it runs, so the listing names it: a server must not move that file elsewhere.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: ls
inputs: []
outputs:
  listing:
    type: stdout
stdout: listing.txt
