#!/usr/bin/env cwl-runner
# Echoes two integers beyond 2^53 (to numbers.txt: what the engine read from its params file)
# and returns them as outputs: neither may lose a digit on its way through client and server.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  n:
    type: long
    inputBinding:
      position: 1
  huge:
    type: Any
    inputBinding:
      position: 2
outputs:
  printed:
    type: stdout
  n_out:
    type: long
    outputBinding:
      outputEval: $(inputs.n)
  huge_out:
    type: Any
    outputBinding:
      outputEval: $(inputs.huge)
stdout: numbers.txt
