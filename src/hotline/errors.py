"""The one error type the operator ever sees.

Every failure that reaches the command line is a :class:`HotlineError`: one clear line and a
distinct exit code, never a traceback. Each package subclasses it with its own codes.
"""

from __future__ import annotations


class HotlineError(Exception):
    """A failure explained to the operator in one line.

    Attributes:
        exit_code: the process exit status the CLI uses for this failure (never 0).
    """

    exit_code: int = 1
