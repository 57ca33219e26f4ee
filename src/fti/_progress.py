"""Progress display for long operations (inserts, later training data and backfills).

A bar appears on an interactive terminal when the work is big enough to be worth watching, or
whenever the caller asks with ``progress=True``; otherwise the steps cost nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

AUTO_THRESHOLD_ROWS = 100_000


class Steps(Protocol):
    def step(self, description: str) -> None: ...


class _Silent:
    def step(self, description: str) -> None:
        pass


class _Bar:
    def __init__(self, progress: object, task: object) -> None:
        self._progress, self._task, self._started = progress, task, False

    def step(self, description: str) -> None:
        advance = 1 if self._started else 0
        self._started = True
        self._progress.update(self._task, advance=advance, description=description)  # type: ignore[attr-defined]


def wanted(progress: bool | None, rows: int) -> bool:
    if progress is not None:
        return progress
    return rows >= AUTO_THRESHOLD_ROWS and sys.stderr.isatty()


@contextmanager
def steps(title: str, total: int, show: bool) -> Iterator[Steps]:
    """Yield an object whose ``step(description)`` marks the start of each of ``total`` steps."""
    if not show:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.fields[title]}[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task("", total=total, title=title)
        yield _Bar(progress, task)
        progress.update(task, completed=total, description="done")
