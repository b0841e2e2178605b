"""The one exception type that the CLI turns into a clean message and exit code 2."""


class UserError(Exception):
    """Bad input from the user: a file, a column, a config key, a name.

    The message is one sentence that names the input and says how to fix it. The CLI
    prints it without a traceback and exits with code 2; the run is recorded as failed.
    """
