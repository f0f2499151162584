"""The one base class for errors a user can cause and fix, and one for warnings about what they can
change; the CLI prints each as one line (``Error: …``, ``Warning: …``)."""


class StarmillError(Exception):
    """A user-facing error: bad input, missing dataset, bad config. Never a bug."""


class StarmillWarning(UserWarning):
    """Something works but should change (a deprecated config key); shown once, on stderr."""
