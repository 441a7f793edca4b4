"""Writing a PDF so that it appears at its final path only when complete (``.part`` file, locked while written).

A batch writes to ``NAME.part`` under an exclusive lock and renames it when everything
succeeded; a partial file nobody holds was left by an interrupted run and can be removed.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from app.core.errors import Invalid


def partial_path(out: Path) -> Path:
    """Where a batch to ``out`` is written until it is complete and recorded."""
    return out.with_name(out.name + ".part")


def _open_partial(part: Path) -> BinaryIO:
    # The lock marks a batch at work; the kernel drops it when the process ends, even by kill -9,
    # so a partial file nobody holds was left by an interrupted run (``discard_interrupted``).
    fh = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT, 0o600), "wb")  # medical data: the service's user only
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise Invalid("同じファイルへの印刷が実行中です。終わってから、もう一度実行してください") from None
    fh.truncate(0)
    return fh


def discard_interrupted(out: Path) -> bool:
    """Remove the partial file an interrupted batch to ``out`` left; False when there is none or it is being written."""
    part = partial_path(out)
    try:
        fd = os.open(part, os.O_WRONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        part.unlink()
        return True
    finally:
        os.close(fd)


@contextmanager
def output(out: Path | BinaryIO) -> Iterator[BinaryIO]:
    """The file to write: a path appears only once everything succeeded."""
    if not isinstance(out, (str, Path)):
        yield out
        return
    final = Path(out)
    part = partial_path(final)
    with _open_partial(part) as fh:
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(part, final)
        except BaseException:
            part.unlink(missing_ok=True)  # still under our lock: never another run's file
            raise
