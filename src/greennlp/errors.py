"""The one exception type that the CLI turns into a clean message and exit code 2."""

MAX_MESSAGE_CHARS = 1_000  # a sentence; whatever it echoes is cut so that it stays one


class UserError(Exception):
    """Bad input from the user: a file, a column, a config key, a name.

    The message is one sentence that names the input and says how to fix it. The CLI
    prints it without a traceback and exits with code 2; the run is recorded as failed.
    A message over :data:`MAX_MESSAGE_CHARS` characters (an echoed value gone wild) is
    cut there, with "…", so that no error, record or registry row grows with the input.
    """

    def __init__(self, message: str = "", *args: object) -> None:
        if isinstance(message, str) and len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS - 1] + "…"
        super().__init__(message, *args)
