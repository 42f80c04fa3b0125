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
# (ch-alexnet)=
# # Selectivity in the hidden layers of {glue:text}`ch2_network`
#
# Section 3.1 of {cite:t}`gale2020` runs every measure of {ref}`ch-measures` over the
# units of three layers of AlexNet {cite:p}`krizhevsky2012` (conv5, fc6 and fc7) and finds
# that the measures disagree: by precision and CCMAS many units look like object
# detectors, by the signal-detection measures none does. This chapter repeats each of its
# analyses, in the paper's order, on the activations of the profile named below: Fig. 3
# (every measure's distribution per layer), the counts its text quotes, the paper's three
# detector bars, Fig. 2 (the top images of a precise unit), Fig. 4 (the most
# "detector-like" unit), Table A1 (the top units), Table A2 (how the measures correlate)
# and Appendix C (CCMAS against CCMAS2). Every table puts the paper's number beside this
# run's; the paper's numbers come from the data file `src/compendium/data/paper_numbers.csv`,
# each with the table, figure or page it is from. The box below says first whether this run
# agrees with the paper.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file (or folder of the authors' files); None: the profile's recording
layers = ["conv5", "fc6", "fc7"]  # hidden layers, as in the paper's Fig. 3
output_layer = "fc8"  # the output layer for Table A1; None leaves it out
output_softmax = True  # measure the output layer's softmax (class probabilities)
units = None  # None: every unit; "START:STOP" for every layer; or {layer: "START:STOP"}
top_n = [60, 100]  # top-N precision sizes: the paper's 60 (Fig. 3) and 100 (Tables A1-A2)
fig4_unit = None  # "LAYER.UNIT" for Fig. 4; None: the unit with the highest precision
max_points = 20000  # most points in a jitterplot (the class of interest is always all drawn)
memory_gb = 0.5  # working memory of the measures; more reads more units per pass over a file
include_silent = False  # True keeps the units that give every image the same activation
n_permutations = 100  # label shuffles for the chance levels; 0: no permutation null
permutation_seed = 0  # seed of the label shuffles (shuffle k uses the seed [seed, k])
seed = 0  # seed of the jitter, the images drawn, and the random draws for chance precision

# %% tags=["remove-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # before tqdm is imported

import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from compendium.build import stages
from compendium.chapters import alexnet as results
from compendium.chapters import alexnet_figures as figures
from compendium.chapters import alexnet_page as words
from compendium.chapters import alexnet_paper as beside
from compendium.chapters import chance, detectors, exercises, page, paper, plots
from compendium.chapters.downloads import csv_download
from compendium.measures import tables
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {
        "store": store,
        "layers": layers,
        "output_layer": output_layer,
        "output_softmax": output_softmax,
        "units": units,
        "top_n": top_n,
        "fig4_unit": fig4_unit,
        "max_points": max_points,
        "memory_gb": memory_gb,
        "include_silent": include_silent,
        "n_permutations": n_permutations,
        "permutation_seed": permutation_seed,
        "seed": seed,
    },
)
if store is None:
    display(stages.weights_banner(profile))

# Check every choice against the file before any work: a wrong layer, unit range or top-N
# size stops here with a message that lists what the file holds or what is expected.
top = results.TopN.from_parameter(top_n)
permutations = results.check_permutations(n_permutations)
source = results.open_source(stages.chapter_store(profile, store), layers, units, output_layer)
options = results.measure_options(top, memory_gb)
reported = paper.reported()
cache = cache_dir() / "measures"
glue("ch2_network", words.network_title(source), display=False)

# %% [markdown]
# Every measure of every chosen unit, read from the file a block of units at a time and kept
# in the cache (a second run of this page reads it back in a moment); the silent units are
# set apart by the book's one policy (`compendium.chapters.detectors.leave_out_silent`); and
# the label-permutation null gives each measure its chance level:

# %%
measured = tables.measure_selection(source.path, source.selection, cache_dir=cache, **options)
silent = detectors.leave_out_silent(measured, include_silent)
table = silent.kept
null = results.measure_null(source, permutations, permutation_seed, cache, options)
findings = beside.paper_findings(table, top.precision, reported)
extremes = results.network_extremes(table, source.class_names)
paper_extremes = beside.paper_extremes(reported)
beyond = results.beyond_extremes(
    table,
    paper_extremes.loc["best_recall_p100", "paper"],
    paper_extremes.loc["best_max_informedness", "paper"],
    paper_extremes.loc["min_mi_false_alarm", "paper"],
)
bars = detectors.detector_counts(measured, include_silent=include_silent)
here = results.chance_precision(source.labels, top.small, seed=seed)
theirs = results.chance_precision(
    results.equal_class_labels(beside.paper_n_images(reported), beside.paper_n_classes(reported)),
    top.small,
    seed=seed,
)

# %% tags=["remove-input"]
display(page.myst(words.summary_box(findings, beyond, bars, source, here, theirs, reported)))
if silent.n_silent:
    display(Markdown(silent.note()))

# %% [markdown]
# ## What this run measured

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_data(reported)))
display(Markdown(words.describe_source(source)))
sizes = beside.layer_sizes(source, reported)
display(
    sizes.style.format(
        {
            "units in the layer": "{:,.0f}",
            "paper: units measured": "{:,.0f}",
            "paper: units in the layer": "{:,.0f}",
        },
        na_rep="",
    )
)
display(csv_download(sizes, "ch2-layer-sizes"))
display(Markdown(words.describe_chance(here, theirs, source.n_classes, reported)))
if null is not None:
    chance_table = chance.chance_precision(null, top.precision, source.n_classes)
    display(
        Markdown(chance.describe_chance_precision(chance_table, top.precision, source.n_classes))
    )

# %% [markdown]
# ## Every measure of every unit
#
# `compendium.measures.tables.measure_selection` computes every measure of {ref}`ch-measures`
# for each chosen unit. Each row is one unit; a few of them, and the whole table as CSV:

# %% tags=["remove-input"]
display(
    figures.measures_preview(measured, top)
    .style.format(precision=3, na_rep="NaN")
    .hide(axis="index")
)
display(csv_download(measured, "ch2-measures", "Download the measures of every unit as CSV:"))

# %% [markdown]
# (ch-alexnet-fig3)=
# ## Fig. 3: every measure, layer by layer
#
# The paper's Fig. 3 shows nine measures for its three layers as box plots. Here each box
# spans the middle half of the units (25th to 75th percentile), its whiskers reach the
# most extreme units within 1.5 box heights, the red bar is the median, the green dot the
# mean with one standard error either way, and the dark red crosses are the units beyond
# the whiskers (one cross per distinct value; hover it for how many units share it). The
# shaded band behind each box is chance: the 2.5th to 97.5th percentile of the measure over
# the label-permutation null of the layer's units. The paper gives no table of these
# distributions, so the orange marks are the few of its numbers that belong in a panel:
# the mean CCMAS of each layer (a diamond; from Appendix C) and, as dashed lines, the best
# recall at perfect precision, the best maximum informedness and the lowest false-alarm
# proportion of any unit in the network (from the text of Section 3.1). Hover a mark for
# its numbers.

# %%
panels = results.fig3_panels(top.sizes)
stats = results.layer_distributions(table, list(panels))
outliers = results.fig3_outliers(table, list(panels))
band = None if null is None else chance.fig3_band(chance.layer_bands(null), list(panels))
figures.fig3_chart(
    stats, panels, source.hidden, beside.fig3_marks(reported, top), outliers, band=band
)

# %% [markdown]
# The same statistics as numbers: each cell is the mean ± its standard error, with the
# median in brackets; the paper's mean CCMAS has its own row.

# %% tags=["remove-input"]
fig3_numbers = beside.fig3_table(stats, panels, source.hidden, reported)
display(fig3_numbers)
display(csv_download(fig3_numbers, "ch2-fig3"))
display(Markdown(words.describe_fig3(stats, source.hidden, top, reported)))

# %% [markdown]
# ## The counts the text quotes

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_counts(reported)))
counts = results.quoted_counts(table, threshold=0.9, precision=top.precision)
counts_table = beside.counts_beside_paper(counts, reported, top)
if null is not None:
    beats = chance.counts_beats_chance(
        null,
        {top.precision: "precision beats chance", "ccmas": "CCMAS beats chance"},
        q=results.FALSE_DISCOVERY_RATE,
        include_silent=include_silent,
    )
    counts_table = chance.with_beats_chance(counts_table, beats)
display(counts_table.style.format("{:,.0f}", na_rep=""))
display(csv_download(counts_table, "ch2-counts"))

# %% tags=["remove-input"]
if null is not None:
    display(Markdown(words.describe_beats_chance(results.FALSE_DISCOVERY_RATE)))
display(Markdown("And over every counted unit of the network, with the unit each number is of:"))
extremes_table = beside.extremes_beside_paper(extremes, reported)
display(extremes_table.style.format({"this run": "{:.3f}"}, na_rep=""))
display(csv_download(extremes_table, "ch2-extremes"))
display(Markdown(words.describe_counts(counts, extremes, len(table), reported)))

# %% [markdown]
# ## The paper's three detector bars
#
# The paper's Discussion names three bars a unit may clear for a class, from the strictest
# to the most lenient: a **grandmother unit** (perfect recall and specificity), a
# **detector** on what it calls a reasonable reading (some threshold with more hits than
# misses and more hits than false alarms), and a **detector in the sense of Zhou et al.**
# (at least 75% of its 60 most active images of one class). Each unit's columns `localist`,
# `detector` and `precision_60` say which bars it clears (`compendium.chapters.detectors`);
# per layer:

# %% tags=["remove-input"]
bars_table = bars.rename(columns=detectors.COUNT_TITLES)
display(bars_table)
display(csv_download(bars_table, "ch2-detector-bars"))
display(Markdown(words.describe_bars(bars, source.network, source.hidden, reported)))

# %% [markdown]
# (ch-alexnet-fig2)=
# ## Fig. 2: the top images of a precise unit

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_fig2(reported)))
fig2_layer = beside.paper_fig2_unit(reported)[0]
fig2_layer = fig2_layer if fig2_layer in source.hidden else source.hidden[0]
fig2_row = results.closest_precision_unit(
    table, fig2_layer, beside.paper_fig2_unit(reported)[1], top.precision
)
fig2_activations = results.unit_activations(source, fig2_row["layer"], int(fig2_row["unit"]))
fig2_shown = results.top_images(fig2_activations, top.small)
pictures = figures.pictures(source)
if pictures is None:
    display(Markdown(figures.no_images_note(source)))
else:
    display(
        HTML(
            figures.top_images_grid(
                pictures,
                fig2_shown,
                source.labels,
                source.class_names,
                int(fig2_row[f"{top.precision}_class"]),
                f"The top {top.small} images of "
                f"{results.unit_label(fig2_row['layer'], fig2_row['unit'])}, most active first",
            )
        )
    )
display(Markdown(words.describe_fig2(fig2_row, fig2_shown, source.labels, source.class_names, top)))

# %% [markdown]
# (ch-alexnet-fig4)=
# ## Fig. 4: the unit that looks most like a detector

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_fig4(reported)))

# %% [markdown]
# This run takes the unit with the highest top-N precision (N is the first of `top_n`),
# ties going to the higher CCMAS, or the unit the `fig4_unit` parameter names, and draws
# the same pictures: a jitterplot, a histogram of its class, a histogram of every image that
# activates it at all, and example images from three places in its range; a threshold slider
# lets a class watch hits trade against false alarms.

# %% tags=["remove-input"]
unit = results.fig4_unit(source, table, fig4_unit, top)
display(Markdown(words.describe_fig4_unit(unit, source.class_names)))

# %%
numbers = results.unit_figure_numbers(unit.activations, source.labels, unit.cls, top=top.small)

# %% [markdown]
# Its numbers beside those of the paper's unit. The paper's maximum informedness is the
# unit's (over every class); the rows marked "for its class" take the best threshold for
# the class the unit's precision counts, the threshold Fig. 4 draws. A ">" marks a number
# the paper gives as a bound (its "over" or "above").

# %% tags=["remove-input"]
fig4_table = beside.fig4_beside_paper(unit, numbers, source.class_names, top, reported)
display(beside.fig4_shown(fig4_table))
display(csv_download(fig4_table, "ch2-fig4-unit"))
plan = figures.jitter_plan(source, unit, numbers, max_points, seed, top)
if plan.note:
    display(Markdown(plan.note))

# %% [markdown]
# The red rule is the top-N cut and the green one the best threshold for the class, as in
# {ref}`ch-measures`:

# %%
plots.jitterplot(
    unit.activations[plan.sample],
    source.labels[plan.sample],
    source.class_names,
    unit.label,
    highlight_class=unit.cls,
    thresholds=plan.thresholds,
    seed=seed,
    image_index=plan.sample,
    title=plan.title,
)

# %% tags=["remove-input"]
overlap = words.describe_zero_overlap(unit, source.labels, plan.sample, numbers, source.class_names)
if overlap:
    display(Markdown(overlap))

# %% [markdown]
# The same unit with a threshold slider. Drag it, or click it and use the arrow keys: each
# step moves the threshold to the next activation that occurs, the images at or above it
# are drawn solid, and the numbers under the plot are counted again over every image. It
# starts at the best threshold for the unit's class; the class can be changed too.

# %%
figures.fig4_slider(source, unit, plan, top, seed)

# %% [markdown]
# The histogram of the class alone shows where its images fall, and how many the top-N
# cut leaves out:

# %%
plots.histogram(
    unit.activations,
    source.labels,
    source.class_names,
    unit.label,
    highlight_class=unit.cls,
    thresholds=plan.thresholds,
    which="class",
)

# %% tags=["remove-input"]
display(Markdown(words.describe_zero_inset(numbers, source.n_images, reported)))

# %%
active = unit.activations > 0
plots.histogram(
    unit.activations[active],
    source.labels[active],
    source.class_names,
    f"{unit.label} (images above 0)",
    highlight_class=unit.cls,
    thresholds=plan.thresholds,
    which="all",
)

# %% tags=["remove-input"]
examples = results.example_images(unit.activations, source.labels, unit.cls, seed=seed)
display(Markdown(words.describe_examples(examples, unit, numbers, source.class_names)))
if pictures is None:
    display(Markdown(figures.no_images_note(source)))
else:
    display(
        HTML(
            figures.examples_grid(
                pictures, examples, unit.activations, source.class_names[unit.cls]
            )
        )
    )
display(Markdown(words.describe_fig4(unit, numbers, source.class_names, top, reported)))

# %% [markdown]
# (ch-alexnet-a1)=
# ## Table A1: the top unit of each layer
#
# Appendix B lists, for each layer, the unit with the highest CCMAS and the unit with the
# highest precision (here of the top 100, as the appendix says), each with both scores. The
# output layer is included as the paper includes it; this run measures it after a softmax,
# as class probabilities, when `output_softmax` is set (the paper does not say which form it
# used).

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_a1(reported)))

# %%
output = results.measure_output(source, output_layer, cache, output_softmax, options)
if output is not None:
    output = detectors.leave_out_silent(output, include_silent).kept
a1_units = results.table_a1_units(table, source.hidden, top, output)
ties = results.top_ties(
    table if output is None else pd.concat([output, table]),
    list(a1_units["layer"].unique()),
    top.precision_large,
)

# %% tags=["remove-input"]
a1 = beside.table_a1_beside_paper(a1_units, paper.reported("Table A1"), top.precision_large)
display(
    a1.style.format(
        {
            "CCMAS": "{:.3f}",
            "precision": "{:.2f}",
            "paper CCMAS": "{:.3f}",
            "paper precision": "{:.2f}",
        },
        na_rep="",
    ).hide(axis="index")
)
display(csv_download(a1, "ch2-table-a1"))
display(ties.style.format({"best CCMAS": "{:.3f}", "best precision": "{:.2f}"}))
display(csv_download(ties, "ch2-table-a1-ties"))
display(
    Markdown(words.describe_table_a1(table, a1, ties, top, reported, output_layer, output_softmax))
)

# %% [markdown]
# (ch-alexnet-a2)=
# ## Table A2: how the measures correlate
#
# Appendix B correlates five numbers over units: precision (top 100), CCMAS, recall at .95
# precision, maximum informedness and the number of classes among the top 100. It does not
# say which units it pooled; this run pools every counted unit of the hidden layers. The
# p-values come from Fisher's z transform (the paper reports all p < .001).

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_a2(reported)))
pairs = beside.table_a2_pairs(table, top, reported)
display(pairs.style.format({"correlation": "{:.2f}", "paper": "{:.2f}", "p": "{:.1e}"}, na_rep=""))
display(csv_download(pairs, "ch2-table-a2"))
a2_text = words.describe_table_a2(pairs)
if a2_text:
    display(Markdown(a2_text))

# %% [markdown]
# (ch-alexnet-c)=
# ## Appendix C: CCMAS for the best and the second-best class
#
# If a high CCMAS meant that a unit singles out one class, the class with the second-highest
# mean should score much lower.

# %% tags=["remove-input"]
display(Markdown(words.describe_paper_c(reported)))
c_table = results.ccmas_vs_ccmas2(table)
c_shown = beside.appendix_c_beside_paper(c_table, reported)
display(c_shown.style.format(precision=3, na_rep=""))
display(csv_download(c_shown, "ch2-appendix-c"))
display(Markdown(words.describe_appendix_c(c_table, table, source.class_names, reported)))

# %% [markdown]
# (ch-alexnet-verdict)=
# ## What is the same, what differs, and why
#
# Each of the paper's findings in Section 3.1 and Appendices B-C, and whether this run
# shows it:

# %% tags=["remove-input"]
findings_table = beside.findings_shown(findings)
display(findings_table.style.hide(axis="index"))
display(csv_download(findings_table, "ch2-findings"))
display(Markdown(words.describe_findings(findings)))
display(Markdown(words.describe_base_rate(source.n_classes, reported, here, theirs)))
display(Markdown(words.describe_network(source, reported)))
display(Markdown(words.describe_ccmas2_reason(source.n_classes, reported)))
display(Markdown(words.describe_units_measured(source, reported)))

# %% [markdown]
# **The measures themselves.** The definitions here follow the paper's text
# ({ref}`ch-measures`); the authors' code differs in places (ties broken by sort order, a
# different recall at perfect precision), which could move some of the paper's own numbers;
# {ref}`ch-authors-code` measures by how much.
#
# With the `alexnet-merged` profile the number of classes, the network and the images are
# the paper's own: the chapter then reads the authors' activation files, and only the
# choice of units and the exact definitions can separate its numbers from the paper's.

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(exercises.block(words.exercises(table, unit, numbers, here, source.class_names, top)))

# %% [markdown]
# (ch-alexnet-rerun)=
# ## Rerunning this chapter
#
# **Other units, layers or parameters.** Each parameter at the top of the page can be
# changed without touching the code. `compendium run` reruns this chapter alone with the
# profile's other parameters and rebuilds the book around it; for instance the first 128
# units of fc6 and fc7, with unit fc7.12 in Fig. 4 and the silent units kept:
#
# ```bash
# .venv/bin/compendium run 02 --profile default \
#     -p layers '[fc6, fc7]' -p units 0:128 \
#     -p fig4_unit fc7.12 -p include_silent true
# ```
#
# It prints where the executed notebook and the HTML page went. `-p store FILE.h5` reads
# another activation file; `-p n_permutations 0` skips the permutation null (the page then
# has no chance bands and no "beats chance" counts). A layer the file does not have, or a
# unit range outside a layer, stops the notebook in its first cell with a message that lists
# what the file holds. To change the book itself, edit the `02_alexnet_results:` section of
# `notebooks/params/<profile>.yml`.
#
# **What each profile changes.** `default` measures every unit of the small AlexNet trained
# on Fashion-MNIST, with the weights shipped in `data/weights/`; `smoke` measures a few
# hundred units of a network trained for a moment, to test the book; `alexnet-merged` reads
# the authors' own activation files (below); `imagenet` records a torchvision network on an
# ImageNet folder.
#
# **The paper's own data.** Download the authors' `AN_merged_<layer>_max.h5` files for
# conv5, fc6, fc7 and fc8 (about 27 GB) into one folder, then
#
# ```bash
# export COMPENDIUM_ALEXNET_MERGED=/data/AlexNet_Merged
# make book PROFILE=alexnet-merged
# ```
#
# Each pass over an 11.8 GB file of fc6 or fc7 reads as many units as fit in `memory_gb`
# (the profile's 8 GB: about 2,900 units, so two passes per layer); set `units` in
# `notebooks/params/alexnet-merged.yml` to measure fewer.
#
# **Another network on ImageNet.** With an ImageNet folder (one sub-folder per WordNet id)
# and torchvision's pretrained weights (downloaded once on a machine with internet, or a
# state-dict file):
#
# ```bash
# export COMPENDIUM_IMAGENET=/data/imagenet/val
# make book PROFILE=imagenet
# ```
#
# `notebooks/params/imagenet.yml` says which network, weights and layers, and how many
# images per class are recorded.
#
# **The measures table alone**, for any activation file, as CSV:
#
# ```bash
# .venv/bin/compendium measures ACTIVATIONS.h5 \
#     --layer fc6 --units 0:512 --out fc6.csv
# ```
