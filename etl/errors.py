"""Errors meant for people: the message is plain French and is shown without a traceback."""


class UserError(Exception):
    """A problem the user can fix (missing file, bad option, database absent…)."""
