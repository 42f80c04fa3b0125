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
# The authors' code looped over units in Python and, for each unit, over classes and
# ranks; their Methods put their sampling of units down to time. This page shows what the
# compendium's implementation costs on layers as large as theirs, and compares it with two
# things that any exact method would have to match: one `numpy.argsort` per unit, and (where
# the benchmark recorded it) one sort of packed 64-bit keys per unit, the least that a method
# which ranks each unit's images must do.
#
# The figures on this page are **not computed when the book is built**: they are the
# recorded output of the benchmark scripts under `bench/`, each row with the machine and
# the date it was measured on. Rerun a script and rebuild the book to see your machine's
# (the recipe is at the end of the page).

# %% tags=["parameters"]
profile = "default"  # the profile that built this page (the figures come from bench/results)
results_dir = None  # folder of the benchmarks' CSV files; None: bench/results of this repository

# %% tags=["remove-input"]
from pathlib import Path

from IPython.display import Markdown, display

from compendium.build.profiles import ROOT
from compendium.chapters import downloads, exercises, page, paper
from compendium.chapters import performance as chapter

results = Path(results_dir) if results_dir else ROOT / "bench" / "results"
block = chapter.read_results(results, "measures")
scale = chapter.read_results(results, "scale")
chunks = chapter.read_results(results, "chunks")
reported = paper.reported()
page.setup(
    profile,
    {"results_dir": results_dir},
    run=chapter.run_description(block, scale, chunks),
)

# %% tags=["remove-input"]
display(
    Markdown(
        chapter.describe_paper_scale(reported) + " " + chapter.describe_load(block, scale, chunks)
    )
)

# %% [markdown]
# ## How the measures are computed
#
# Every measure of chapter {ref}`ch-measures` is read off one ranking of a unit's images.
# The package sorts each unit once (for float32 activations it packs value and image number
# into one 64-bit key, which numpy sorts in place, with none of an argsort's indirection,
# and which breaks ties by image number), cuts the ranking into runs of equal values (the
# thresholds), and gets, for every image,
# how many images of its own class rank at or above it from a second, cheap sort of the
# ranked labels. Maximum informedness over all classes and thresholds then needs no loop
# over classes. Units are processed in blocks, read from HDF5 in slabs aligned to the
# file's chunks, so memory stays bounded whatever the size of the layer.
#
# ## A block of units in memory
#
# `bench/measures.py` times, on one generated block of activations (its size is in the
# table), the package; a straightforward loop over units and classes that builds each
# class's curve from scratch, as the authors' code does; one `numpy.argsort` per unit; and,
# in its newer runs, the sort of packed keys (built from the block and then sorted) and the
# package with every core. Times are per unit, the fastest of several interleaved repeats.

# %% tags=["remove-input"]
block_table = chapter.block_table(block)
display(chapter.styled_block(block_table))
display(downloads.csv_download(block_table, "block_of_units"))

# %% tags=["remove-input"]
display(Markdown(chapter.describe_block(block)))

# %% [markdown]
# ## Whole layers from HDF5
#
# `bench/scale.py` writes synthetic activations shaped like the authors' files (as many
# images and classes as theirs, the classes of unequal size, and mostly exact zeros as in a
# post-ReLU fc6) to an activation file, then measures every unit of a layer from that file. Each timing runs
# in its own process, so the peak memory is that of the timing alone. One argsort per unit
# reads the same slabs and sorts each unit; the per-class loop is timed on a few units and
# extrapolated to the layer. The last column but one compares each time with that argsort.
#
# The package reads a layer in slabs of units. While one slab is measured, a thread reads
# the next and stores it with one row per unit, so that each unit's values lie in one run
# of memory; the blocks of a slab are measured by worker processes forked once the slab is
# in memory, which inherit it rather than receive a copy (`compendium.measures._run`). By
# default a file read in several slabs gets one worker fewer than the cores, the reading
# thread taking the last; `--workers` sets the number, and the table shows one worker
# against every core.

# %% tags=["remove-input"]
layer_table = chapter.layer_table(scale)
display(
    layer_table.style.hide(axis="index").format(
        {"/ one argsort per unit": chapter.figure_text, "peak memory (GiB)": "{:.2f}"}, na_rep=""
    )
)
display(downloads.csv_download(layer_table, "whole_layers"))

# %% tags=["remove-input"]
display(Markdown(chapter.describe_layers(scale)))

# %% [markdown]
# ## How the time grows
#
# The series below times the package and one argsort per unit on data held in memory,
# first with more and more images, then with more and more units. Both axes are
# logarithmic: lines that run parallel mean that the package keeps a constant factor over
# the argsort.

# %% tags=["remove-input"]
display(chapter.series_chart(scale, "n_images"))

# %% tags=["remove-input"]
display(chapter.series_chart(scale, "n_units"))

# %% tags=["remove-input"]
series_table = chapter.series_table(scale)
display(
    series_table.style.hide(axis="index").format({"images": "{:,}", "units": "{:,}"}, precision=2)
)
display(downloads.csv_download(series_table, "time_against_size"))

# %% tags=["remove-input"]
display(Markdown(chapter.describe_series(series_table)))

# %% [markdown]
# ## The file layout
#
# Recording appends rows (a batch of images with every unit); measuring reads columns (all
# images of a few units). `bench/chunks.py` writes the same conv5-sized layer in four
# layouts and reads all of its units back in slabs of 32, with the operating system's file
# cache emptied before each read where the machine allows it (the last column says whether
# it did).

# %% tags=["remove-input"]
chunks_table = chapter.chunks_table(chunks)
display(chunks_table.style.hide(axis="index").format(precision=2))
display(downloads.csv_download(chunks_table, "file_layouts"))

# %% tags=["remove-input"]
display(Markdown(chapter.describe_chunks(chunks_table)))

# %% [markdown]
# ## On a GPU, and on a cluster
#
# `unit_measures(..., backend="torch", device="cuda")` runs the same computation in PyTorch
# and gives the same table as the numpy backend (the tests check integers equal and values
# within $10^{-6}$ on the CPU, and on CUDA where a GPU is present). `bench/gpu.sh` times it
# on a whole fc6-sized file. For many layers or models, `compendium measures ...
# --scheduler tcp://HOST:8786` sends blocks of units as tasks to a Dask cluster whose
# workers can read the activation file (see `compendium.measures.cluster`).

# %% tags=["remove-input"]
display(Markdown(chapter.describe_gpu(scale)))

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(exercises.block(chapter.exercises(scale, series_table, chunks_table, reported)))

# %% [markdown]
# (ch-performance-rerun)=
# ## Rerunning this chapter
#
# The page only reads the benchmarks' files, so a rerun starts with the benchmarks
# themselves; each appends its rows, with this machine's name and the date, to
# `bench/results/` (or to the folder `$BENCH_RESULTS_DIR` names):
#
# ```bash
# .venv/bin/python bench/measures.py    # a block in memory (a minute)
# .venv/bin/python bench/scale.py all   # whole layers (hours: the loop)
# .venv/bin/python bench/chunks.py      # the file layouts (minutes)
# bash bench/gpu.sh                     # on a machine with a CUDA GPU
# ```

# %% tags=["remove-input"]
from compendium.build import recipes  # here: it loads the build layer, after the banner

display(
    recipes.rerun_recipe("06_performance", {"results_dir": "my-results"}, reads_recording=False)
)
