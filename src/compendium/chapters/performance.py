"""Chapter 6 (performance): the benchmark scripts' recorded figures, as tables, charts,
sentences and exercises.

The figures are not computed when the book is built: ``bench/measures.py``,
``bench/scale.py`` and ``bench/chunks.py`` append them to CSV files (one row per timing,
each with its machine and date), and this module reads those files. Every sentence the page
states about the figures is written here from the numbers, so a rerun of a benchmark
changes the page's words along with its tables. What the package is compared with is
named for what it is: one ``numpy.argsort`` per unit, and (where the file records it) a
sort of packed 64-bit keys, value bits and image number together, which is the least any
method must do that ranks each unit's images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from compendium.chapters import plots
from compendium.chapters.exercises import Exercise
from compendium.util.errors import CompendiumError

#: The benchmark files the page reads, and the script that writes each.
SCRIPTS = {"measures": "bench/measures.py", "scale": "bench/scale.py", "chunks": "bench/chunks.py"}
#: What each method of bench/scale.py is, in words.
ARGSORT = "one argsort per unit"
SORT_FLOOR = "packed-key sort per unit"
LOOP = "per-class loop"


class BenchmarkError(CompendiumError):
    """The page cannot read a benchmark's figures (the message says which script to run)."""


# --- reading the files ------------------------------------------------------------------------


def read_results(folder: Path, name: str) -> pd.DataFrame:
    """The figures ``<folder>/<name>.csv`` that ``bench/<name>.py`` appended."""
    path = Path(folder) / f"{name}.csv"
    if not path.is_file():
        raise BenchmarkError(
            f"no benchmark figures {path.name} in {Path(folder).name}/: run "
            f"`.venv/bin/python {SCRIPTS.get(name, f'bench/{name}.py')}` first, or set "
            "`results_dir` to a folder that holds them"
        )
    return pd.read_csv(path)


def latest(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """For each combination of `keys` (and each machine), the row of the latest date (the
    last appended among equals)."""
    by = [*keys, "machine"]
    ordered = table.assign(_row=np.arange(len(table))).sort_values(["date", "_row"])
    return ordered.groupby(by, dropna=False, sort=False).tail(1).drop(columns="_row")


def where_measured(*tables: pd.DataFrame) -> str:
    """The machines and dates of the figures, for a sentence: "AMD EPYC, 2 cores, ... on
    2026-11-26"."""
    pairs = pd.concat([t[["machine", "date"]] for t in tables]).drop_duplicates()
    runs = [
        f"{machine} on {', '.join(sorted(group['date']))}"
        for machine, group in pairs.groupby("machine", sort=False)
    ]
    return "; ".join(runs)


def run_description(*tables: pd.DataFrame) -> dict[str, str]:
    """What this chapter shows, for its banner."""
    return {
        "Data": (
            "the figures the benchmark scripts under `bench/` recorded in `bench/results/` "
            "(generated activations shaped like the paper's), read as they are: nothing is "
            "timed while the book is built"
        ),
        "Network": "none: the benchmarks time the measures, not a network",
        "Recorded": f"each figure with its machine and date: {where_measured(*tables)}",
    }


def describe_load(*tables: pd.DataFrame) -> str:
    """How busy the machine was while the figures were taken, where the files say."""
    found = [t[c] for t in tables for c in ("load_before", "load_after") if c in t.columns]
    loads = pd.to_numeric(pd.concat(found), errors="coerce").dropna() if found else pd.Series()
    cores = _cores(pd.concat([t["machine"] for t in tables]))
    if loads.empty:
        return (
            "The files do not record how busy the machine was; a shared machine inflates "
            "the seconds, so read the ratios, each taken within one run, rather than the "
            "seconds."
        )
    busy = f" on {cores} cores" if cores else ""
    return (
        f"The load average while they were taken ran from {loads.min():.1f} to "
        f"{loads.max():.1f}{busy}: "
        + (
            "the machine was shared, so the seconds are inflated and noisy; read the ratios, "
            "each taken within one run, rather than the seconds."
            if cores is None or loads.max() > cores
            else "the machine was otherwise quiet."
        )
    )


def _cores(machines: pd.Series) -> int | None:
    found = {
        int(m.group(1)) for m in machines.astype(str).map(re.compile(r"(\d+) cores").search) if m
    }
    return min(found) if found else None


def describe_paper_scale(reported: pd.DataFrame) -> str:
    """The size of the paper's layers and the share of their units it measured."""
    rows = reported[reported["source"].str.startswith("Sec. 2")]
    n_images = int(rows.loc[rows["measure"] == "n_images", "value"].iloc[0])
    measured = rows[rows["measure"] == "units"].set_index("layer")["value"]
    sizes = rows[rows["measure"] == "layer_units"].set_index("layer")["value"]
    shares = ", ".join(
        f"{measured[layer] / sizes[layer]:.0%} of {layer}'s {int(sizes[layer]):,} units"
        for layer in measured.index
        if layer in sizes.index
    )
    return (
        f"The authors measured a sample of units only ({shares}), over {n_images:,} "
        "correctly classified ImageNet images."
    )


# --- a block of units in memory (bench/measures.py) --------------------------------------------

#: bench/measures.py's columns: the rows of the page's table, in order, with their labels.
BLOCK_ROWS = {
    "n_images": "images",
    "n_units": "units",
    "n_classes": "classes",
    "ours_s_per_unit": "package, 1 worker (ms per unit)",
    "ours_all_s_per_unit": "package, every core (ms per unit)",
    "floor_s_per_unit": f"{ARGSORT} (ms)",
    "sort_floor_s_per_unit": f"{SORT_FLOOR} (ms)",
    "sort_only_s_per_unit": "the sort alone, keys built (ms per unit)",
    "loop_s_per_unit": f"{LOOP} (ms per unit)",
    "loop_over_ours": "loop / package",
    "ours_over_floor": f"package / {ARGSORT}",
    "ours_over_sort_floor": f"package / {SORT_FLOOR}",
    "speedup_all_workers": "every core / 1 worker (speed-up)",
}


def block_table(measures: pd.DataFrame) -> pd.DataFrame:
    """The latest run of bench/measures.py on each machine, one column per run and one row
    per figure (the columns that run recorded), seconds shown as milliseconds."""
    runs = latest(measures, ["n_images", "n_units", "n_classes"])
    rows = [c for c in BLOCK_ROWS if c in runs.columns and runs[c].notna().any()]
    table = runs[rows].copy()
    for column in rows:
        if column.endswith("_s_per_unit"):
            table[column] = table[column] * 1000
    table.index = [f"{m} ({d})" for m, d in zip(runs["machine"], runs["date"], strict=True)]
    return table.rename(columns=BLOCK_ROWS).T.rename_axis("figure")


def describe_block(measures: pd.DataFrame) -> str:
    """The latest run of bench/measures.py in words: the package's time per unit against
    the loop, one argsort per unit and (where recorded) the packed-key sort."""
    run = measures.iloc[-1]
    ours = float(run["ours_s_per_unit"])
    against_argsort = float(run["ours_over_floor"])
    text = (
        f"On {run['machine']} ({run['date']}), for {int(run['n_images']):,} images x "
        f"{int(run['n_units'])} units of {int(run['n_classes'])} classes, the package takes "
        f"{ours * 1000:.1f} ms per unit on one worker: {float(run['loop_over_ours']):,.0f} times "
        f"less than the {LOOP}, and {_times(against_argsort)} {ARGSORT}"
    )
    sort_floor = run.get("ours_over_sort_floor")
    if sort_floor is not None and pd.notna(sort_floor):
        text += (
            f", {_times(float(sort_floor))} a {SORT_FLOOR} (the least that any method must do "
            "that ranks each unit's images)."
        )
    else:
        text += (
            f". This run predates the {SORT_FLOOR}, the least that any method must do that "
            "ranks each unit's images; rerun `bench/measures.py` to add it."
        )
    speedup = run.get("speedup_all_workers")
    if speedup is not None and pd.notna(speedup):
        text += (
            f" With all {int(run['workers'])} workers it runs {float(speedup):.1f} times as "
            "fast as with one."
        )
    return text


def _times(ratio: float) -> str:
    """A time ratio in words, before the name of what it is compared with: "1.8 times the
    time of", or, below 1, "faster than ... (0.76 times its time)" as "0.76 times"."""
    if ratio < 1:
        return f"faster ({ratio:.2f} times the time) than"
    return f"{ratio:.1f} times the time of"


def styled_block(table: pd.DataFrame) -> object:
    """`block_table` for the page: counts without decimals, times and ratios with three
    significant figures."""
    counts = [row for row in ("images", "units", "classes") if row in table.index]
    rest = [row for row in table.index if row not in counts]
    return table.style.format("{:,.0f}", subset=pd.IndexSlice[counts, :]).format(
        figure_text, subset=pd.IndexSlice[rest, :]
    )


def figure_text(value: float) -> str:
    """A time or ratio for a table: three significant figures and no exponent ("1,312",
    "12.6", "0.76"); empty when missing."""
    if pd.isna(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


# --- whole layers from a file (bench/scale.py layer) ---------------------------------------------


def method_label(method: str) -> str:
    """bench/scale.py's method name in words: ``ours-numpy`` -> "package (numpy, every
    core)", ``floor`` -> "one argsort per unit", ``loop`` -> "per-class loop"."""
    cold = " (cold read)" if method.endswith(" (cold read)") else ""
    base = method.removesuffix(" (cold read)")
    if base == "floor":
        return ARGSORT + cold
    if base == "loop":
        return LOOP + cold
    found = re.fullmatch(r"ours-(\w+?)(?:-(\d+)-workers?)?", base)
    if not found:
        return method
    backend, workers = found.groups()
    if workers:
        return f"package ({backend}, {workers} worker{'s' if workers != '1' else ''}){cold}"
    return f"package ({backend}{', every core' if backend == 'numpy' else ''}){cold}"


def layer_table(scale: pd.DataFrame) -> pd.DataFrame:
    """Whole layers (the latest run of each method per layer and machine): seconds, the
    time against one argsort per unit, and peak memory, one row per (layer, method)."""
    layers = latest(scale[scale["benchmark"] == "layer"], ["layer", "method"])
    rows = []
    for (layer, _machine), group in layers.groupby(["layer", "machine"], sort=False):
        floor = group.loc[group["method"] == "floor", "seconds"]
        for _, row in group.iterrows():
            extrapolated = row.get("extrapolated_from_units")
            rows.append(
                {
                    "layer": f"{layer} ({int(row['n_units']):,} units)",
                    "method": method_label(row["method"]),
                    "time": _duration(float(row["seconds"])),
                    f"/ {ARGSORT}": float(row["seconds"]) / float(floor.iloc[0])
                    if len(floor)
                    else np.nan,
                    "peak memory (GiB)": row.get("peak_rss_gib"),
                    "note": f"extrapolated from {int(extrapolated)} units"
                    if pd.notna(extrapolated)
                    else "",
                }
            )
    return pd.DataFrame(rows)


def _duration(seconds: float) -> str:
    """Seconds in the unit a reader would use: "44 s", "9.1 min", "10.5 h", "7.4 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe_layers(scale: pd.DataFrame) -> str:
    """Each layer's whole-file figures in words."""
    layers = latest(scale[scale["benchmark"] == "layer"], ["layer", "method"])
    sentences = []
    for (layer, _machine), group in layers.groupby(["layer", "machine"], sort=False):
        times = dict(zip(group["method"], group["seconds"].astype(float), strict=False))
        ours = times.get("ours-numpy")
        first = group.iloc[0]
        size = f"{layer} ({int(first['n_images']):,} images x {int(first['n_units']):,} units)"
        if ours is None:
            sentences.append(f"For {size} the file holds no timing of the package.")
            continue
        text = f"For {size} the package took {_duration(ours)}"
        if "floor" in times:
            text += f", {_times(ours / times['floor'])} {ARGSORT} reading the same slabs"
        if "loop" in times:
            text += (
                f"; the {LOOP} would take about {_duration(times['loop'])}, "
                f"{times['loop'] / ours:,.0f} times longer"
            )
        sentences.append(text + ".")
    return " ".join(sentences) + (
        f" (Measured on {where_measured(layers)}.)" if len(layers) else ""
    )


# --- time against size (bench/scale.py series) ------------------------------------------------


def series_rows(scale: pd.DataFrame, along: str) -> pd.DataFrame:
    """The series' timings along one size (``n_images``: the runs with the most common
    unit count; ``n_units``: those with the most common image count), with readable method
    names: the input of `plots.scaling_chart`."""
    series = latest(scale[scale["benchmark"] == "series"], ["method", "n_images", "n_units"])
    other = "n_units" if along == "n_images" else "n_images"
    fixed = series.groupby(other)[along].nunique().idxmax()
    rows = series[series[other] == fixed].sort_values([along, "method"])
    return rows.assign(method=rows["method"].map(method_label))


def series_chart(scale: pd.DataFrame, along: str) -> object:
    """Seconds against images or units for the package and one argsort per unit, in the
    palette's colours (the package blue, the argsort a dark reference grey)."""
    rows = series_rows(scale, along)
    other = "n_units" if along == "n_images" else "n_images"
    fixed = int(rows[other].iloc[0])
    what = "images" if along == "n_images" else "units"
    title = f"time against {what} ({fixed:,} {'units' if along == 'n_images' else 'images'})"
    colours = {method_label("ours-numpy"): plots.HIGHLIGHT_COLOUR, ARGSORT: plots.REFERENCE_COLOUR}
    return plots.scaling_chart(rows, along, title, colours=colours)


def series_table(scale: pd.DataFrame) -> pd.DataFrame:
    """Every size of the series: seconds of the package and of one argsort per unit, and
    their ratio."""
    series = latest(scale[scale["benchmark"] == "series"], ["method", "n_images", "n_units"])
    wide = series.pivot_table(index=["n_images", "n_units"], columns="method", values="seconds")
    table = pd.DataFrame(
        {
            "package (s)": wide["ours-numpy"],
            f"{ARGSORT} (s)": wide["floor"],
            f"package / {ARGSORT}": wide["ours-numpy"] / wide["floor"],
        }
    )
    return table.reset_index().rename(columns={"n_images": "images", "n_units": "units"})


def describe_series(table: pd.DataFrame) -> str:
    """How the package's time against one argsort per unit changes with size."""
    ratio = table[f"package / {ARGSORT}"]
    low, high = table.loc[ratio.idxmin()], table.loc[ratio.idxmax()]
    below = int((ratio < 1).sum())
    return (
        f"Across the series the package takes between {ratio.min():.2f} times (at "
        f"{int(low['images']):,} images x {int(low['units'])} units) and {ratio.max():.2f} "
        f"times (at {int(high['images']):,} x {int(high['units'])}) the time of {ARGSORT}"
        + (f"; it is the faster of the two at {below} of the {len(table)} sizes." if below else ".")
    )


# --- the file layout (bench/chunks.py) ----------------------------------------------------------


def chunks_table(chunks: pd.DataFrame) -> pd.DataFrame:
    """The latest run of each layout: its chunk shape and the seconds to write the layer
    and to read it back in slabs of units."""
    runs = latest(chunks, ["layout"])
    return pd.DataFrame(
        {
            "layout": runs["layout"],
            "chunks (images, units)": runs["chunks"]
            .fillna("None")
            .replace({"None": "none (contiguous)"}),
            "write (s)": runs["write_s"].astype(float),
            "read (s)": runs["read_s"].astype(float),
            "cache emptied": runs["cold_cache"].map({True: "yes", False: "no"}),
        }
    ).reset_index(drop=True)


def describe_chunks(table: pd.DataFrame, store: str = "store") -> str:
    """Where the store's own layout ranks in writing and reading."""
    by = table.set_index("layout")
    if store not in by.index:
        return "The file holds no timing of the store's own layout."
    mine = by.loc[store]
    read_rank = int((by["read (s)"] < mine["read (s)"]).sum()) + 1
    slowest_write = by["write (s)"].idxmax()
    return (
        f"The store's layout, chunks of {mine['chunks (images, units)']} images x units, "
        f"reads the layer back in "
        f"{mine['read (s)']:.1f} s, {_ordinal(read_rank)} of the {len(by)} layouts, and "
        f"writes it in {mine['write (s)']:.1f} s; the slowest to write is `{slowest_write}` "
        f"({by.loc[slowest_write, 'write (s)']:.1f} s), because appending a batch of images "
        "touches every one of its chunks."
    )


def _ordinal(n: int) -> str:
    return {1: "the fastest", 2: "the second fastest", 3: "the third fastest"}.get(n, f"{n}th")


# --- on a GPU --------------------------------------------------------------------------------------


def describe_gpu(scale: pd.DataFrame) -> str:
    """What the files say about the torch backend on a GPU."""
    torch_rows = scale[scale["method"].astype(str).str.startswith("ours-torch")]
    gpu = torch_rows[~torch_rows["machine"].astype(str).str.contains("no GPU")]
    if gpu.empty:
        return (
            "No figures of the torch backend on a GPU are recorded yet: `bash bench/gpu.sh` "
            "on a machine with a CUDA GPU adds them (and the page then shows them here)."
        )
    row = latest(gpu, ["layer", "method"]).iloc[-1]
    numpy_rows = scale[
        (scale["method"] == "ours-numpy")
        & (scale["layer"] == row["layer"])
        & (scale["machine"] == row["machine"])
    ]
    text = (
        f"On {row['machine']} ({row['date']}) the torch backend measured {row['layer']} "
        f"({int(row['n_images']):,} images x {int(row['n_units']):,} units) in "
        f"{_duration(float(row['seconds']))}"
    )
    if len(numpy_rows):
        numpy_s = float(numpy_rows["seconds"].iloc[-1])
        text += f", against {_duration(numpy_s)} for the numpy backend on every core there"
    return text + "."


# --- exercises -------------------------------------------------------------------------------------


def exercises(
    scale: pd.DataFrame, series: pd.DataFrame, chunks: pd.DataFrame, reported: pd.DataFrame
) -> list[Exercise]:
    """The chapter's exercises, each solution computed from the recorded figures."""
    found = [
        _exercise_paper_layers(scale, reported),
        _exercise_beating_argsort(series),
        _exercise_chunks(chunks),
    ]
    return [item for item in found if item is not None]


def _per_unit(scale: pd.DataFrame, method: str, layer: str) -> float | None:
    rows = scale[
        (scale["benchmark"] == "layer") & (scale["method"] == method) & (scale["layer"] == layer)
    ]
    if rows.empty:
        return None
    row = rows.iloc[-1]
    return float(row["seconds"]) / float(row["n_units"])


def _exercise_paper_layers(scale: pd.DataFrame, reported: pd.DataFrame) -> Exercise | None:
    ours, loop = _per_unit(scale, "ours-numpy", "fc6"), _per_unit(scale, "loop", "fc6")
    if ours is None or loop is None:
        return None
    sizes = layer_units(reported)
    units = sum(sizes.values())
    layers = ", ".join(f"{layer} {n:,}" for layer, n in sizes.items())
    n_images = int(reported.loc[reported["measure"] == "n_images", "value"].iloc[0])
    ours_total, loop_total = _duration(ours * units), _duration(loop * units)
    return Exercise(
        label="ex-performance-paper-layers",
        title="Every unit of the paper's layers",
        question=(
            f"At the rates measured for fc6 above, how long would every unit of the paper's "
            f"three layers ({layers}: {units:,} units over {n_images:,} images) take with the "
            f"{LOOP}, and how long with the package? Would the authors still need to sample "
            "units?"
        ),
        solution=(
            f"fc6's figures give {loop:,.0f} s per unit for the {LOOP} and {ours:.3f} s per "
            f"unit for the package, so the {units:,} units would take about {loop_total} with "
            f"the loop and {ours_total} with the package, on the machine that recorded the "
            "figures. "
            + (
                "At the package's rate there is no need to sample: every unit of the three "
                "layers is measured within a working day."
                if ours * units < 8 * 3600
                else "Even at the package's rate that is more than a working day on this machine."
            )
        ),
    )


def _exercise_beating_argsort(series: pd.DataFrame) -> Exercise | None:
    if series.empty:
        return None
    ratio = series[f"package / {ARGSORT}"]
    best = series.loc[ratio.idxmin()]
    return Exercise(
        label="ex-performance-argsort",
        title="Faster than a sort?",
        question=(
            f"At {int(best['images']):,} images x {int(best['units'])} units the package took "
            f"{best['package (s)']:.2f} s and {ARGSORT} {best[f'{ARGSORT} (s)']:.2f} s. The "
            "package must rank every unit's images, and computes all the measures besides. "
            "How can it come so close to (or under) an argsort?"
        ),
        solution=(
            f"Its ratio there is {best[f'package / {ARGSORT}']:.2f}. An argsort sorts indices "
            "by looking up the values they point to; the package instead sorts plain 64-bit "
            "integers, each the activation's bits with the image number in the low bits, which "
            "numpy sorts faster (in place and vectorised), and the image number rides along "
            "and breaks ties. After that one sort, every measure comes from cumulative counts "
            "over the ranking, with no loop over classes or thresholds."
        ),
    )


def _exercise_chunks(chunks: pd.DataFrame) -> Exercise | None:
    by = chunks.set_index("layout")
    if not {"columns", "store"} <= set(by.index):
        return None
    columns, store = by.loc["columns"], by.loc["store"]
    return Exercise(
        label="ex-performance-chunks",
        title="Chunks for writing and for reading",
        question=(
            f"Chunks of one unit over all images (`{columns['chunks (images, units)']}`) took "
            f"{columns['write (s)']:.1f} s to write, the store's chunks "
            f"(`{store['chunks (images, units)']}`) {store['write (s)']:.1f} s. Why, when both "
            "hold the same numbers?"
        ),
        solution=(
            f"Recording appends a batch of images with every unit. With one chunk per unit "
            f"each batch must update every unit's chunk, each a column of all images, so the "
            f"whole file is rewritten many times over: {columns['write (s)'] / store['write (s)']:.0f} "
            f"times the store's time here. The store's chunks {store['chunks (images, units)']} "
            "are each touched once per batch of rows, and a slab of the units of one chunk "
            f"column is still a run of whole chunks when the measures read it back "
            f"({store['read (s)']:.1f} s, against {columns['read (s)']:.1f} s for the column "
            "chunks)."
        ),
    )


def layer_units(reported: pd.DataFrame) -> Mapping[str, int]:
    """The units of each of the paper's layers (from its data file)."""
    rows = reported[reported["measure"] == "layer_units"].set_index("layer")["value"]
    return {layer: int(n) for layer, n in rows.items()}
