"""Progress bars that stay out of log files: a tqdm bar on stderr only when stderr is a terminal."""

from __future__ import annotations

from collections.abc import Iterable


def progress_bar(iterable: Iterable | None = None, *, desc: str, total: int | None = None, **options):
    """``tqdm(iterable, desc=desc, total=total, **options)`` drawn on stderr when stderr is a terminal.

    When stderr is redirected (a log file, a pipe, a batch job), tqdm's ``disable=None`` turns the bar off, so no
    ``\\r`` frames fill the log; without tqdm installed, the plain ``iterable`` comes back (or ``None`` when no
    iterable was given: the caller then updates nothing).
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, disable=None, **options)
