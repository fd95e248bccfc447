#!/usr/bin/env cwl-runner
# Benchmark fixture of scenario 5: two steps (echo a message into a file, count its bytes),
# both tools inline, so the workflow is one attachment.
cwlVersion: v1.2
class: Workflow
inputs:
  message: string
outputs:
  count:
    type: File
    outputSource: count/out
steps:
  echo:
    run:
      class: CommandLineTool
      baseCommand: echo
      inputs:
        message:
          type: string
          inputBinding: {position: 1}
      stdout: message.txt
      outputs:
        out:
          type: stdout
    in:
      message: message
    out: [out]
  count:
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      inputs:
        file:
          type: File
          inputBinding: {position: 1}
      stdout: count.txt
      outputs:
        out:
          type: stdout
    in:
      file: echo/out
    out: [out]
