# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-performance)=
# # Performance: the measures at the paper's scale
#
# The authors measured a sample of units only: roughly 90% of conv5 and 60% of fc6 and fc7,
# a choice their Methods put down to time. Their code looped over units in Python and, for
# each unit, over classes and ranks. This page shows what the compendium's implementation
# costs on layers as large as theirs (721,536 correctly classified ImageNet images; conv5
# with 256 units and fc6 with 4,096), and how that compares with the least any exact method
# must do: sort each unit's activations once.
#
# The figures on this page are **not computed when the book is built**: they are the
# recorded output of the benchmark scripts under `bench/`, each row with the machine and
# the date it was measured on. Rerun a script and rebuild the book to see your machine's.
# The figures recorded here were measured on a 2-core virtual machine while other jobs
# (model training for the other chapters) shared it, with a load average between about 3.5
# and 7: absolute seconds are inflated and noisy, so read the ratios, each measured in one
# run, rather than the seconds.

# %% tags=["parameters"]
profile = "default"  # the profile that built this page (the figures come from bench/results)
results_dir = ""  # folder of the benchmarks' CSV files; "" = bench/results of this repository

# %% tags=["remove-input"]
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from compendium.build.profiles import ROOT
from compendium.chapters import page, plots

page.setup(profile, {"results_dir": results_dir})
results = Path(results_dir) if results_dir else ROOT / "bench" / "results"


def read(name: str) -> pd.DataFrame:
    path = results / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results at {path}: run bench/{name}.py first")
    return pd.read_csv(path)


# %% [markdown]
# ## How the measures are computed
#
# Every measure of chapter {ref}`ch-measures` is read off one ranking of a unit's images.
# The package sorts each unit once (for float32 activations it packs value and image number
# into one 64-bit key, which sorts faster than an argsort and breaks ties by image number),
# cuts the ranking into runs of equal values (the thresholds), and gets, for every image,
# how many images of its own class rank at or above it from a second, cheap sort of the
# ranked labels. Maximum informedness over all classes and thresholds then needs no loop
# over classes. Units are processed in blocks, read from HDF5 in slabs aligned to the
# file's chunks, so memory stays bounded whatever the size of the layer.
#
# ## A block of units in memory
#
# `bench/measures.py` times three things on the same generated block (50,000 images x 256
# units, 100 classes, about 60% exact zeros): the package; a straightforward loop over units
# and classes that builds each class's curve from scratch, as the authors' code does; and
# the floor, one `numpy.argsort` per unit.

# %% tags=["remove-input"]
block = read("measures")
display(
    Markdown(
        "Measured on "
        + "; ".join(
            f"{m} ({d})" for m, d in block[["machine", "date"]].drop_duplicates().to_numpy()
        )
        + ":"
    )
)
shown = block[
    [
        "n_images",
        "n_units",
        "n_classes",
        "ours_s_per_unit",
        "loop_s_per_unit",
        "floor_s_per_unit",
        "loop_over_ours",
        "ours_over_floor",
    ]
]
display(
    shown.rename(
        columns={
            "ours_s_per_unit": "package (s/unit)",
            "loop_s_per_unit": "per-class loop (s/unit)",
            "floor_s_per_unit": "argsort floor (s/unit)",
            "loop_over_ours": "loop / package",
            "ours_over_floor": "package / floor",
        }
    )
    .style.hide(axis="index")
    .format(precision=4)
)

# %% [markdown]
# ## Whole layers from HDF5
#
# `bench/scale.py` writes synthetic activations shaped like the authors' files (721,536
# images of 1,000 classes of unequal size, about 80% exact zeros as in a post-ReLU fc6) to
# an activation file, then measures every unit of a layer from that file. Each timing runs
# in its own process, so the peak memory is that of the timing alone. The floor reads the
# same slabs and sorts each unit; the per-class loop is timed on a few units and
# extrapolated to the layer.

# %% tags=["remove-input"]
scale = read("scale")
layers = scale[scale["benchmark"] == "layer"]
wide = layers.pivot_table(
    index=["date", "machine", "layer", "n_images", "n_units"], columns="method", values="seconds"
).reset_index()
ours_method = [c for c in wide.columns if str(c).startswith("ours")]
for column in ours_method:
    wide[f"{column} / floor"] = wide[column] / wide["floor"]
    wide[f"loop / {column}"] = wide["loop"] / wide[column]
memory = layers.pivot_table(index=["layer"], columns="method", values="peak_rss_gib")
where = "; ".join(f"{m} ({d})" for m, d in wide[["machine", "date"]].drop_duplicates().to_numpy())
display(
    Markdown(f"Seconds for a whole layer (the loop's figure is extrapolated), measured on {where}:")
)
display(wide.drop(columns=["machine", "date"]).style.hide(axis="index").format(precision=2))
display(Markdown("Peak resident memory of each timing's process, GiB:"))
display(memory.style.format(precision=2))

# %% [markdown]
# ## How the time grows
#
# The series below times the package and the floor on data held in memory, first with more
# and more images (128 units), then with more and more units (100,000 images). Both axes
# are logarithmic: lines that run parallel mean that the package keeps a constant factor
# over the floor.

# %% tags=["remove-input"]
series = scale[scale["benchmark"] == "series"]
by_images = series[series["n_units"] == series["n_units"].mode()[0]]
display(plots.scaling_chart(by_images, "n_images", "time against images"))

# %% tags=["remove-input"]
by_units = series[series["n_images"] == 100_000]
display(plots.scaling_chart(by_units, "n_units", "time against units"))

# %% tags=["remove-input"]
ratio = series.pivot_table(index=["n_images", "n_units"], columns="method", values="seconds")
ratio["package / floor"] = ratio["ours-numpy"] / ratio["floor"]
display(ratio.reset_index().style.hide(axis="index").format(precision=2))

# %% [markdown]
# ## The file layout
#
# Recording appends rows (a batch of images with every unit); measuring reads columns (all
# images of a few units). `bench/chunks.py` writes the same conv5-sized layer in four
# layouts and reads all of its units back in slabs of 32, with the operating system's file
# cache emptied before each read where the machine allows it. The compendium's store uses
# chunks of 8,192 images by 32 units: appending a batch touches each chunk of its rows once,
# and a slab of 32 units is a run of whole chunks.

# %% tags=["remove-input"]
chunks = read("chunks")
display(chunks.style.hide(axis="index").format(precision=2))

# %% [markdown]
# ## On a GPU, and on a cluster
#
# `unit_measures(..., backend="torch", device="cuda")` runs the same computation in PyTorch
# and gives the same table as the numpy backend (the tests check integers equal and values
# within $10^{-6}$ on the CPU, and on CUDA where a GPU is present). `bench/scale.py layer
# --backend torch` times it; no GPU was available to the machine that recorded the figures
# above, so none are shown. For many layers or models, `compendium measures ... --scheduler
# tcp://HOST:8786` sends blocks of units as tasks to a Dask cluster whose workers can read
# the activation file (see `compendium.measures.cluster`).
