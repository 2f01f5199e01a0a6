"""The one exception type for bad user input; the CLI turns it into a one-line error and exit code 2."""


class InputError(ValueError):
    """A value the user gave (a param, a flag, a path) cannot be used. The message names it and what is allowed."""
