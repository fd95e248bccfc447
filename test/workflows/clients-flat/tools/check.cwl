cwlVersion: v1.0
class: CommandLineTool
doc: Lists a file and the secondary file it needs beside it.
baseCommand: [cat]
inputs:
  inp:
    type: File
    secondaryFiles: [.idx]
    inputBinding: {position: 1}
arguments:
  - {valueFrom: $(inputs.inp.path).idx, position: 2}
stdout: both.txt
outputs:
  out: stdout
