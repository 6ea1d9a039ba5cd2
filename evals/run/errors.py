"""What stops a run's test with a message and no traceback (the plugin shows it as a failure)."""


class RunError(RuntimeError):
    """The run cannot go on as asked; the message says why and what to do."""
