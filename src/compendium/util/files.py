"""Writing files so that a reader never sees half of one: write to a temporary name in the
same folder, then rename over the target (atomic on POSIX). And the check every command
that writes makes first, `refuse_overwriting_inputs`: no output may be one of its inputs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from compendium.util.errors import CompendiumError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it to `target`, on error
    delete it, so `target` is either the old file or the complete new one."""
    target = Path(target)
    if target.is_dir():
        raise OutputError(_folder_message(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; use the usual mode
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (hex), for provenance and cache checks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(table: pd.DataFrame, target: str | os.PathLike, **to_csv: object) -> Path:
    """Write a table as CSV, atomically."""
    with atomic_path(target) as tmp:
        table.to_csv(tmp, **to_csv)
    return Path(target)


class OutputError(CompendiumError):
    """A destination a command must not write: one of its inputs, or a folder."""


def refuse_overwriting_inputs(
    outputs: Iterable[str | os.PathLike | None],
    inputs: Iterable[str | os.PathLike | None],
    folders: Iterable[str | os.PathLike | None] = (),
    *,
    folder_outputs: bool = False,
) -> None:
    """Refuse, before any work, destinations that would destroy what a command reads.

    An output is refused if it is one of `inputs` or resolves to one (through symbolic
    links, ``..`` or a hard link), if it lies inside one of `folders` (folders whose every
    file the command may read), if it is an existing folder, or if another output is the
    same file. With ``folder_outputs=True`` the outputs are folders that the command
    replaces whole: one may exist, but not hold an input or one of `folders`. None entries
    are skipped. The message names both paths.
    """
    outs = [Path(p) for p in outputs if p is not None]
    ins = [Path(p) for p in inputs if p is not None]
    read = [Path(p) for p in folders if p is not None]
    for k, out in enumerate(outs):
        problem = _overwrites(out, ins, read, folder_outputs)
        if problem is None and out.is_dir() and not folder_outputs:
            problem = _folder_message(out)
        for other in outs[:k] if problem is None else ():
            if same_file(out, other):
                problem = f"two outputs are one file, {other} and {out}: give each its own path"
        if problem is not None:
            raise OutputError(problem)


def _overwrites(out: Path, inputs: list[Path], folders: list[Path], replaced: bool) -> str | None:
    """Why writing `out` (a folder replaced whole if `replaced`) would destroy an input."""
    for source in inputs:
        if same_file(out, source):
            how = "" if str(out) == str(source) else " (the same file, through links or '..')"
            return (
                f"the output {out} is the input {source}{how}; writing it would destroy the "
                "input: choose another output path"
            )
    for folder in folders:
        if _inside(out, folder):
            return (
                f"the output {out} lies inside {folder}, which this command reads; choose an "
                "output path outside that folder"
            )
    for source in (*inputs, *folders) if replaced else ():
        if source.exists() and _inside(source, out):
            return (
                f"the output folder {out} holds {source}, which this command reads, and "
                "would be replaced whole: choose another output folder"
            )
    return None


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if `a` and `b` name the same file: the same inode where both exist, else the same
    path once links and ``..`` are resolved."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    """True if `path`, resolved, lies somewhere under the existing folder `folder`."""
    if not folder.is_dir():
        return False
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _folder_message(path: Path) -> str:
    return (
        f"the output {path} is an existing folder, which a file cannot replace: give the "
        "path of a file to write (a new name, inside that folder or elsewhere)"
    )
