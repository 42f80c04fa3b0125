"""The package's one error type.

Every error a user can cause (bad input, a missing file, a bad parameter) is a
`CompendiumError` whose message says what is wrong and how to fix it. The command line turns
exactly these into one line and exit status 2; any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations


class CompendiumError(ValueError):
    """A user error: the message names the problem and the fix."""
