version 1.0
# A task that writes `oops` to stderr and exits 3 without writing its declared output.

workflow fail {
  input {
    Int code
  }
  call finish { input: code = code }
  output {
    File out = finish.out
  }
}

task finish {
  input {
    Int code
  }
  command <<<
    echo oops >&2
    exit ~{code}
  >>>
  output {
    File out = "never-written.txt"
  }
}
