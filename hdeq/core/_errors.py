"""The error and warning types of hdeq (one module, imported everywhere)."""


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance at some points.

    The message says how many points failed, the worst residual of the defining
    equation, one example argument and what to change.
    """


class ConvergenceWarning(UserWarning):
    """Some points did not converge and were returned as NaN because the caller asked
    for ``on_failure="nan"``; the message summarizes them once."""
