version 1.0
# Sleeps for `seconds` (a unique fraction makes `sleep <seconds>` easy to find in /proc).

workflow nap {
  input {
    String seconds
  }
  call snooze { input: seconds = seconds }
}

task snooze {
  input {
    String seconds
  }
  command <<<
    sleep ~{seconds}
  >>>
}
