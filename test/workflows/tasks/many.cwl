#!/usr/bin/env cwl-runner
# An ExpressionTool scattered over `n`: one task per element, and no process started for any.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  n: int[]
outputs:
  doubled:
    type: int[]
    outputSource: double/m
steps:
  double:
    run:
      class: ExpressionTool
      inputs:
        n: int
      outputs:
        m: int
      expression: '$({"m": inputs.n * 2})'
    scatter: n
    in:
      n: n
    out: [m]
