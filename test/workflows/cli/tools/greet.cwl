#!/usr/bin/env cwl-runner
# Prints its greeting, by default the file next to this tool (a File default).
cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  greeting:
    type: File
    default:
      class: File
      location: greeting.txt
    inputBinding:
      position: 1
outputs:
  out:
    type: stdout
stdout: hello.txt
