"""One exception tree for the whole application.

Every error a user can cause derives from :class:`AarshjulError`, so the edges
(CLI, Slack error hook, outbox worker) catch one type and print its message.
"""


class AarshjulError(Exception):
    """Base of every error aarshjul raises on purpose; its message is for people.

    An error may carry a catalogue ``key`` and its ``params`` so the edge (CLI,
    Slack) can say it in the reader's language; ``str(error)`` stays the English
    text for logs.
    """

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(message or key or type(self).__name__)
        self.key = key
        self.params = params


class ConfigError(AarshjulError):
    """The configuration file or an environment override is invalid."""


class TemplateError(AarshjulError):
    """A cycle template is malformed: bad rule, unknown reference or dependency cycle."""


class NotFoundError(AarshjulError, LookupError):
    """Something named by the user (a council, an event, a year) does not exist."""


class InputError(AarshjulError, ValueError):
    """User input (a date, a CSV row, an option) is not valid."""


class PermissionDenied(AarshjulError, PermissionError):
    """The person acting may not do this (not the council's secretary, not heard …)."""
