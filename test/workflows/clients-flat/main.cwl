cwlVersion: v1.0
class: Workflow
doc: A workflow laid out as wes-client expects it (everything in the workflow's folder or below).
inputs:
  inp: File
  indexed: File
outputs:
  reversed: {type: File, outputSource: rev/out}
  checked: {type: File, outputSource: check/out}
steps:
  rev:
    run: tools/rev.cwl
    in: {inp: inp}
    out: [out]
  check:
    run: tools/check.cwl
    in: {inp: indexed}
    out: [out]
