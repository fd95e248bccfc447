cwlVersion: v1.2
class: Workflow
doc: >-
  A step whose tool reads a file that both its default and the job name (a client attaches it
  twice), outputs with awkward names, and numbers passed through from the inputs untouched
  (no JavaScript on the way).
inputs:
  inp: File
  big: Any
outputs:
  reversed: {type: File, outputSource: rev/out}
  dir: {type: Directory, outputSource: names/dir}
  spaced: {type: File, outputSource: names/spaced}
  big: {type: Any, outputSource: big}
steps:
  rev:
    run: ../tools/rev.cwl
    in: {inp: inp}
    out: [out]
  names:
    run: ../tools/names.cwl
    in: {}
    out: [dir, spaced]
