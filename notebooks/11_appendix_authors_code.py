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
# (ch-authors-code)=
# # Appendix A: what the authors' code does differently
#
# {cite:t}`gale2020` published the code that computed their measures. Read beside the
# paper's own definitions (Section 2), which this book follows ({ref}`ch-measures`), it
# differs in eight places: some change what a measure means, some only how ties or class
# sizes are handled. This appendix re-implements each difference in the package
# (`compendium.measures.authors_code`, one function per difference, written from a
# description of the code, not copied from it), measures the units of {ref}`ch-alexnet`
# both ways, and counts how much each difference moves the numbers of this run.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file (or folder of the authors' files); None: the profile's recording
layers = ["conv5", "fc6", "fc7"]  # hidden layers, as in chapter 2
units = None  # None: every unit; "START:STOP" for every layer; or {layer: "START:STOP"}
top_n = [60, 100]  # top-N precision sizes, as in chapter 2 (the scan of fact 5 starts at 100)
seed = 0  # seed of the arbitrary order that splits tied activations (fact 4)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.build import stages
from compendium.chapters import alexnet, exercises, page, paper
from compendium.chapters import authors_code as appendix
from compendium.chapters.downloads import csv_download
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {"store": store, "layers": layers, "units": units, "top_n": top_n, "seed": seed},
)

# Check the layers and units against the file before any work.
source = alexnet.open_source(stages.chapter_store(profile, store), layers, units)
top = tuple(alexnet.TopN.from_parameter(top_n).sizes)
reported = paper.reported()

# %% [markdown]
# ## The eight differences
#
# Each row names what the authors' code does and what the spec (and this book) does
# instead. Facts 6 and 7 are choices the authors share with the spec; the alternative shown
# is that of {cite:t}`morcos2018`, whose CCMAS the paper adopts. Fact 8 is shown in two
# readings, because the description leaves open how the test treats a class that has no
# images; a third possibility, that the code stops with an error on such a class, would
# leave nothing to measure.

# %% tags=["remove-input"]
display(appendix.differences_legend().style.hide(axis="index"))
display(csv_download(appendix.differences_legend(), "appendix-a-differences"))

# %% [markdown]
# Where the description of the code leaves a detail open, the re-implementation takes one
# reading and says so in its docstring:
#
# - **Fact 2** reads the recall just before precision first falls to .95 or below. With the
#   code's one-image ranks this is the recall where it falls (the image that lowers
#   precision is not of the class); with the spec's thresholds, where tied images enter
#   together, it keeps this fact apart from fact 4.
# - **Fact 4** models the arbitrary order of a sort as a random order of the images, seeded
#   by `seed` and the same for every unit (a sort puts identical rows in identical order).
# - **Fact 5** takes each unit's value as the best over the scanned classes, for precision,
#   both recalls and maximum informedness.
#
# Every other way of the appendix changes one thing only; the rows "1-5" apply facts 1 to 5
# together, which is what the authors' code computes for the ranked measures.

# %% [markdown]
# ## Every unit, measured each way
#
# `unit_tables` measures every chosen unit the spec's way (the table of chapter 2, read from
# the same cache), each of the authors' ways, and, for convolutional layers whose file
# holds it, the spatial mean of each map (the recordings keep both the maximum and the
# mean). The table, one row per way and unit, is cached under `data/cache/authors_code`.

# %%
unit_table = appendix.unit_tables(
    source.path, source.selection, top=top, seed=seed, cache_dir=cache_dir()
)
summary = appendix.difference_table(unit_table, top)

# %% [markdown]
# (ch-authors-code-table)=
# ## How much each difference changes the numbers
#
# For each difference and each measure it affects: the units compared, how many change,
# the median change among those that do and the largest, and the measure's mean over the
# units the spec's way and the authors' way. Class columns (`mi_class`, `top_class`) count
# only the units whose class changes.

# %% tags=["remove-input"]
display(
    appendix.value_changes(summary)
    .style.format(precision=3, na_rep="")
    .format("{:,.0f}", subset=["units", "units that change"])
    .hide(axis="index")
)
display(csv_download(appendix.value_changes(summary), "appendix-a-value-changes"))
display(csv_download(unit_table, "appendix-a-every-unit", "Every unit, each way, as CSV:"))

# %% [markdown]
# Whether a change matters depends on whether it moves a unit across a line that someone
# would use to call it a detector. For the measures with such a line: the localist test;
# precision of the top 60 above .75 (the criterion of {cite:t}`zhou2015`); CCMAS above .9
# (the count the paper quotes for fc7); recall at perfect precision of 1 (a localist unit);
# maximum informedness of at least .9. The table gives how many units pass each way and how
# many change verdict.

# %% tags=["remove-input"]
display(
    appendix.verdict_changes(summary)
    .style.format(na_rep="")
    .format("{:,.0f}", subset=["units", "pass: spec", "pass: authors' way", "verdict flips"])
    .hide(axis="index")
)
display(csv_download(appendix.verdict_changes(summary), "appendix-a-verdict-changes"))

# %% [markdown]
# ## What each difference does in this run

# %% tags=["remove-input"]
labels = source.labels
without_mean = appendix.layers_without_mean(source.path, source.selection)
for text in (
    appendix.describe_first_rank(summary, unit_table, labels, reported),
    appendix.describe_first_drop(summary, unit_table),
    appendix.describe_fp_over_n(summary, labels, reported),
    appendix.describe_ties(summary, unit_table, source.n_images),
    appendix.describe_scan(summary, unit_table, top),
    appendix.describe_class_means(summary, labels),
    appendix.describe_spatial_mean(summary, without_mean),
    appendix.describe_hardcoded(summary, labels, reported),
    appendix.describe_together(summary),
):
    if text:
        display(Markdown(text))

# %% [markdown]
# ## The paper's best recall at perfect precision
#
# The paper reports the highest recall at perfect precision of any unit it measured, for a
# unit of fc7. By fact 1, the authors' function can only return one over the size of a class,
# or zero. Per layer, the best value of this run by the spec and by the authors' code
# (facts 1-5), with the paper's beside them:

# %% tags=["remove-input"]
display(appendix.recall_p100_beside_paper(unit_table, reported).style.format("{:.4f}", na_rep=""))
display(
    csv_download(appendix.recall_p100_beside_paper(unit_table, reported), "appendix-a-recall-p100")
)

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
found_exercises = appendix.exercises(summary, labels)
if found_exercises:
    display(exercises.block(found_exercises))

# %% [markdown]
# (ch-authors-code-rerun)=
# ## Rerunning this appendix
#
# Every parameter at the top of the page can be changed without touching the code. To
# rerun the appendix alone on fc6, keeping the profile's other parameters, and rebuild the
# book around it:
#
# ```bash
# .venv/bin/compendium run 11 --profile default -p layers '[fc6]'
# ```
#
# `-p units 0:256` measures the first 256 units of each layer, `-p seed 1` splits the ties
# of fact 4 in another order. The `smoke` profile runs the same page on 400 test images and
# a network trained for one epoch; on the authors' own files (profile `alexnet-merged`)
# every class has images, and the file holds only the spatial maximum of conv5, so the page
# says there which rows it cannot show. Those files are large: choose a unit range there, as
# every way ranks each unit's images in memory.
