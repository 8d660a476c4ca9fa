"""Running docpipe on this machine: embedded services (`services`) and, later, `docpipe dev`."""
