version 1.0
# Two tasks: reverse every line of a file, then count the lines of the result (WDL 1.0).

workflow main {
  input {
    File inp
  }
  call rev { input: inp = inp }
  call count_lines { input: inp = rev.out }
  output {
    File reversed = rev.out
    File count = count_lines.out
  }
}

task rev {
  input {
    File inp
  }
  command <<<
    rev ~{inp} > reversed.txt
  >>>
  output {
    File out = "reversed.txt"
  }
}

task count_lines {
  input {
    File inp
  }
  command <<<
    wc -l < ~{inp} > count.txt
  >>>
  output {
    File out = "count.txt"
  }
}
