#!/usr/bin/env cwl-runner
# Sleeps for `seconds` while ignoring SIGTERM and SIGINT (ignored signals survive exec, so the
# `sleep` ignores them too): only SIGKILL stops it. Tests of the grace period use it, so they
# do not depend on how fast the engine itself honours a stop signal.
cwlVersion: v1.1
class: CommandLineTool
baseCommand: [sh, -c, 'trap "" TERM INT; exec sleep "$0"']
inputs:
  seconds:
    type: string
    inputBinding:
      position: 1
outputs: []
