"""The one base class for errors a user can cause and fix; the CLI prints them as one line."""


class StarmillError(Exception):
    """A user-facing error: bad input, missing dataset, bad config. Never a bug."""
