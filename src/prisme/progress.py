"""Rich progress bars for long steps, behind a plain callable so that library code stays quiet.

Library functions take an optional ``progress(task, done, total)`` callable; the CLI passes
:meth:`Bars.update`, a notebook passes nothing.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class Bars:
    """One Rich bar per named task; ``update(task, done, total)`` creates it on first use."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, task: str, done: int | float, total: int | float | None = None, *_: object) -> None:
        if task not in self._tasks:
            self._tasks[task] = self.progress.add_task(task, total=total)
        tid = self._tasks[task]
        self.progress.update(tid, completed=done, total=total)

    def __call__(self, task: str, done: int | float, total: int | float | None = None, *rest: object) -> None:
        self.update(task, done, total)
