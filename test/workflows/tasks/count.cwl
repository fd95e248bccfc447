#!/usr/bin/env cwl-runner
# An ExpressionTool: cwltool evaluates it itself, no process is started (no [job] log line).
cwlVersion: v1.2
class: ExpressionTool
requirements:
  InlineJavascriptRequirement: {}
inputs:
  files: File[]
outputs:
  count: int
expression: '$({"count": inputs.files.length})'
