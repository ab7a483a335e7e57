"""The context slice: the earlier cells a cell needs, so its run can be reproduced without the notebook.

    >>> history = [(1, "import pandas as pd"), (2, "x = 1"), (3, "df = pd.read_csv('d.csv')")]
    >>> [n for n, _ in context_slice([(n, s, s) for n, s in history], {"df"})]
    [1, 3]

Walking the kernel's history backwards from the newest cell, a cell joins the slice when it binds or
changes a name still needed; the names it reads become needed in turn. The slice keeps execution order,
which is the order the kernel saw, not the order of cells in the notebook file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .code import analyse

#: One executed cell: (execution count, Python source to analyse, source to keep). They differ when the
#: cell has IPython syntax (``%time``, ``!ls``): the kept source is what the user wrote.
HistoryCell = tuple[int, str, str]


def context_slice(history: Sequence[HistoryCell], reads: Iterable[str]) -> list[tuple[int, str]]:
    """The (execution count, kept source) of the cells in ``history`` that ``reads`` depend on."""
    needed = set(reads)
    picked: list[tuple[int, str]] = []
    for count, python, source in reversed(history):
        if not needed:
            break
        try:
            facts = analyse(python)
        except (SyntaxError, ValueError, RecursionError):
            continue  # a cell that never ran cannot have defined anything
        if facts.defines & needed:
            picked.append((count, source))
            needed = (needed - facts.defines) | facts.reads
    picked.reverse()
    return picked
