cwlVersion: v1.0
class: CommandLineTool
doc: Kills the engine that runs it (its parent process) with SIGKILL.
baseCommand: [sh, -c, 'kill -KILL $PPID']
inputs: []
outputs: []
