"""The two exception types a command fails with on purpose; the CLI turns each into one line and an exit code."""


class InputError(ValueError):
    """A value the user gave (a param, a flag, a path, a file) cannot be used. The message names it and what is
    allowed. Exit code 2."""


class EnvironmentFault(RuntimeError):
    """The input is fine but the machine is not: a full disk, a failing device, an output folder that another run is
    writing. The message names the file or folder and what went wrong. Exit code 1."""
