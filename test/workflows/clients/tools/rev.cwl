cwlVersion: v1.2
class: CommandLineTool
doc: Reverses each line of a file (the default names the same file as the job, so a client attaches it twice).
baseCommand: rev
inputs:
  inp:
    type: File
    inputBinding: {position: 1}
    default: {class: File, location: ../data/in.txt}
stdout: rev.txt
outputs:
  out: stdout
