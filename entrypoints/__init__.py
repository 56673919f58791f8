"""What starts processes: the command line, the launcher and supervisor, the roles, and the
one composition root (entrypoints.bootstrap) that wires the engine from settings."""
