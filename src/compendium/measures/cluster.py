"""Measures of a whole layer on a Dask cluster: blocks of units as tasks.

Each task opens the activation file itself, reads its block of units and returns that
block's rows of the measures table, so only file paths and small tables travel between
the scheduler and the workers; the file must be on storage every worker can read (a shared
file system on a real cluster). The rows come back in unit order and form the same table as
`compendium.measures.tables.measure_layers` computes in one process.

Run it on a cluster: start a scheduler (``dask scheduler``) and workers
(``dask worker tcp://SCHEDULER:8786``) on machines that mount the same storage, then
``compendium measures /shared/acts.h5 --out fc6.csv --layer fc6 --scheduler
tcp://SCHEDULER:8786``. Without an address, a local cluster on this machine is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 10


class ClusterError(CompendiumError, ConnectionError):
    """No scheduler answers, or the cluster was asked for something it cannot do."""


def measure_layer_on_cluster(
    path: str | os.PathLike,
    layer: str,
    *,
    units: slice | None = None,
    summary: str = "max",
    units_per_task: int = 256,
    scheduler: str | None = None,
    n_workers: int = 2,
    memory_bytes: int | None = None,
) -> pd.DataFrame:
    """The measures table of one layer (rows: units), computed as Dask tasks of
    `units_per_task` units each, on the scheduler at `scheduler` or on a local cluster.
    `memory_bytes` is each task's memory budget (see `compendium.measures.unit_measures`)."""
    from compendium.activations.reader import open_activations
    from compendium.measures.tables import checked_units

    path = Path(path).resolve()
    with open_activations(path) as source:
        n_units = source.n_units(layer)
    units = checked_units(units, n_units, layer)
    if units_per_task < 1:
        raise ClusterError(f"units_per_task must be at least 1, not {units_per_task}")
    blocks = [
        (s, min(s + units_per_task, units.stop))
        for s in range(units.start, units.stop, units_per_task)
    ]
    with _client(scheduler, n_workers) as client:
        log.info("measuring %s layer %s in %d tasks on %s", path, layer, len(blocks), client)
        futures = [
            client.submit(_measure_block, str(path), layer, summary, a, b, memory_bytes, pure=False)
            for a, b in blocks
        ]
        parts = client.gather(futures)
    return pd.concat(parts, ignore_index=True)


def _measure_block(
    path: str, layer: str, summary: str, start: int, stop: int, memory_bytes: int | None = None
) -> pd.DataFrame:
    from compendium.measures.tables import measure_layers

    # One thread per task: the cluster runs the tasks in parallel.
    options: dict = {"workers": 1}
    if memory_bytes is not None:
        options["memory_bytes"] = memory_bytes
    return measure_layers(path, [layer], slice(start, stop), summary, **options)


@contextlib.contextmanager
def _client(scheduler: str | None, n_workers: int) -> Iterator[distributed.Client]:  # noqa: F821
    from distributed import Client, LocalCluster

    if scheduler is None:
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=None
        ) as cluster:
            with Client(cluster) as client:
                yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        raise ClusterError(
            f"no Dask scheduler answers at {scheduler} within {CONNECT_TIMEOUT_S} s ({err}): "
            "start one (`dask scheduler`) and give its address, or leave --scheduler out to "
            "use a local cluster"
        ) from err
    with client:
        yield client
