"""Running docpipe on this machine: embedded services, supervised workers, LocalStack, status.

`docpipe dev` and `docpipe status` are the command line's views of it (docpipe/cli/dev.py, status.py).
"""
