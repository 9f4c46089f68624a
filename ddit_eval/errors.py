"""Errors that the command line reports as one line and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: an unknown name, a missing file, a bad value.

    The CLI prints `error: <message>` and exits 2 (with `--debug`, the traceback).
    """
