"""The data behind a page: each table a chapter shows, offered as a CSV file beside it.

`csv_download` writes a table as ``<name>.csv`` and returns the link to put under it.
During a book build the pipeline names, in the environment variable `PAGE_DATA_ENV`, the
folder beside the executed notebook (``book/generated/<notebook>-data/``); the link is then
a MyST ``{download}`` role, so Sphinx copies the file into the HTML and the link resolves
(a strict build fails if the file is missing). Run anywhere else (Jupyter, Binder, Colab),
the file goes to ``./downloads/`` and the link is a plain Markdown link.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from compendium.util.errors import CompendiumError
from compendium.util.files import write_table

#: Environment variable holding the folder a notebook's CSV files go to during a build.
PAGE_DATA_ENV = "COMPENDIUM_PAGE_DATA"
#: Key in an output's metadata that marks a download link (the pipeline renders the cells
#: that carry it as MyST, so that the ``{download}`` role works).
MARKER = "compendium_download"
#: Where the files go outside a book build (relative to the working directory).
FALLBACK_FOLDER = "downloads"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class DownloadError(CompendiumError):
    """A table cannot be offered for download as asked."""


def page_folder(notebook: str | os.PathLike) -> Path:
    """The folder that holds the CSV files of the executed notebook `notebook`."""
    notebook = Path(notebook)
    return notebook.with_name(f"{notebook.stem}-data")


@contextlib.contextmanager
def writing_to(folder: str | os.PathLike) -> Iterator[Path]:
    """While inside, notebooks started from this process write their CSV files to `folder`
    (the kernel inherits the environment variable `PAGE_DATA_ENV`)."""
    folder = Path(folder)
    before = os.environ.get(PAGE_DATA_ENV)
    os.environ[PAGE_DATA_ENV] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop(PAGE_DATA_ENV, None)
        else:
            os.environ[PAGE_DATA_ENV] = before


def csv_download(table: pd.DataFrame | pd.Series, name: str, label: str | None = None) -> Markdown:
    """Write `table` as ``<name>.csv`` beside the page and return a link to it, to display
    right under the table (a pandas Styler is written as its data).

    The index is written unless it is the default 0, 1, 2, ...; columns with several levels
    are joined into one header row (``"precision (paper)"``).
    """
    if not _NAME.fullmatch(name):
        raise DownloadError(
            f"csv_download: {name!r} is not a usable file name; use letters, digits, '.', "
            f"'_' and '-' only (e.g. 'fc6_measures'), without the .csv suffix"
        )
    frame = _as_frame(table)
    in_book = bool(os.environ.get(PAGE_DATA_ENV))
    folder = Path(os.environ[PAGE_DATA_ENV]) if in_book else Path(FALLBACK_FOLDER)
    path = write_table(frame, folder / f"{name}.csv", index=_keeps_index(frame))
    text = label or "Download this table as CSV:"
    if in_book:
        link = f"{{download}}`{path.name} <{folder.name}/{path.name}>`"
    else:
        link = f"[{path.name}]({path.as_posix()})"
    return Markdown(f"{text} {link}", metadata={MARKER: path.name})


def _as_frame(table: object) -> pd.DataFrame:
    data = getattr(table, "data", None) if not isinstance(table, pd.DataFrame | pd.Series) else None
    if isinstance(data, pd.DataFrame):  # a pandas Styler
        table = data
    if isinstance(table, pd.Series):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame):
        raise DownloadError(
            f"csv_download takes a pandas DataFrame, Series or Styler, not "
            f"{type(table).__name__}: pass the table that the page shows"
        )
    if isinstance(table.columns, pd.MultiIndex):
        table = table.copy()
        table.columns = [_joined(column) for column in table.columns]
    return table


def _joined(column: tuple) -> str:
    parts = [str(part) for part in column if str(part) != ""]
    return f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else "".join(parts)


def _keeps_index(table: pd.DataFrame) -> bool:
    index = table.index
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    return not default or index.name is not None
