#!/usr/bin/env cwl-runner
# Prints, one per line, the arguments it was started with (read from /proc, so they are what
# the process really got), to its captured stdout: a test compares them with the task's cmd.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'tr "\0" "\n" < /proc/$$/cmdline', argv]
inputs:
  word:
    type: string
    inputBinding:
      position: 1
outputs:
  out:
    type: stdout
stdout: argv.txt
