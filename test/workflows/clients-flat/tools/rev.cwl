cwlVersion: v1.0
class: CommandLineTool
baseCommand: rev
inputs:
  inp: {type: File, inputBinding: {position: 1}}
stdout: rev.txt
outputs:
  out: stdout
