cwlVersion: v1.2
class: CommandLineTool
doc: Writes outputs whose names hold a space, non-ASCII letters and a "#", in a folder with an empty sub-folder.
requirements:
  ShellCommandRequirement: {}
inputs: []
arguments:
  - valueFrom: >-
      mkdir -p "d/sub dir" d/empty && printf 'in a folder\n' > "d/a b.txt" && printf 'deeper\n' > "d/sub dir/ü#1.txt" && printf 'spaced\n' > "sp ace #2.txt"
    shellQuote: false
outputs:
  dir:
    type: Directory
    outputBinding: {glob: d}
  spaced:
    type: File
    outputBinding: {glob: "sp ace #2.txt"}
