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
# # Selectivity across the layers of AlexNet
#
# Section 3.1 of {cite:t}`gale2020` runs every measure of {ref}`ch-measures` over the
# units of three layers of AlexNet {cite:p}`krizhevsky2012` (conv5, fc6 and fc7) and finds
# that the measures disagree: by precision and CCMAS many units look like object
# detectors, by the signal-detection measures none does. This chapter repeats each of its
# analyses, in the paper's order, on the activation file of the profile named below:
# Fig. 3 (every measure's distribution per layer), the counts its text quotes, Fig. 4 (the
# most "detector-like" unit), Table A1 (the top units), Table A2 (how the measures
# correlate) and Appendix C (CCMAS against CCMAS2). Every table and figure puts the
# paper's number beside this run's; the numbers come from the data file
# `src/compendium/data/paper_numbers.csv`, each with the table, figure or page it is from.

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
seed = 0  # seed of the jitter and of the sample of images a jitterplot draws

# %% tags=["remove-input"]
import pandas as pd
from IPython.display import Markdown, display

from compendium.build import stages
from compendium.chapters import alexnet as results
from compendium.chapters import page, paper, plots
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
        "seed": seed,
    },
)

# Check every choice against the file before any work: a wrong layer, unit range or top-N
# size stops here with a message that lists what the file holds or what is expected.
top = results.TopN.from_parameter(top_n)
source = results.open_source(stages.chapter_store(profile, store), layers, units, output_layer)
options = results.measure_options(top, memory_gb)
reported = paper.reported()
cache = cache_dir() / "measures"

# %% [markdown]
# ## What this run measured
#
# The paper's activations come from the pretrained Caffe AlexNet, recorded for the
# 721,536 ImageNet training images it classified correctly, over 1,000 classes; its authors
# analysed a random subset of units of each layer. This run's activations:

# %% tags=["remove-input"]
display(Markdown(results.describe_source(source, reported)))
results.layer_sizes(source, reported).style.format(
    {"paper: units measured": "{:,.0f}", "paper: units in the layer": "{:,.0f}"}, na_rep=""
)

# %% [markdown]
# ## Every measure of every unit
#
# `compendium.measures.tables.measure_selection` computes every measure of {ref}`ch-measures` for
# each chosen unit, reading the file a block of units at a time, and keeps the table in
# the cache (under `data/cache/measures`), so a second run of this page reads it back in
# a moment. Each row is one unit; a few of them:

# %%
table = tables.measure_selection(source.path, source.selection, cache_dir=cache, **options)

# %% tags=["remove-input"]
results.measures_preview(table, top).style.format(precision=3, na_rep="NaN").hide(axis="index")

# %% [markdown]
# (ch-alexnet-fig3)=
# ## Fig. 3: every measure, layer by layer
#
# The paper's Fig. 3 shows nine measures for its three layers as box plots. Here each box
# spans the middle half of the units (25th to 75th percentile), its whiskers reach the
# most extreme units within 1.5 box heights, the red bar is the median and the green dot
# the mean with one standard error either way. The paper gives no table of these
# distributions, so the orange marks are the few of its numbers that belong in a panel:
# the mean CCMAS of each layer (a diamond; from Appendix C) and, as dashed lines, the best
# recall at perfect precision, the best maximum informedness and the lowest false-alarm
# proportion of any unit in the network (from the text of Section 3.1). Hover a mark for
# its numbers.

# %%
panels = results.fig3_panels(top.sizes)
stats = results.layer_distributions(table, list(panels))
reference = results.fig3_marks(reported, top)
plots.box_plots(stats, panels, layers=source.hidden, reference=reference)

# %% [markdown]
# The same statistics as numbers: each cell is the mean ± its standard error, with the
# median in brackets; the paper's mean CCMAS has its own row.

# %% tags=["remove-input"]
results.fig3_table(stats, panels, source.hidden, reported)

# %% tags=["remove-input"]
display(Markdown(results.describe_fig3(stats, source.hidden, top, reported)))

# %% [markdown]
# What to look for: in the paper, the boxes of panels a (precision) and c (CCMAS) sit high
# in fc6 and fc7, while those of d (recall at perfect precision), e (recall at .95
# precision) and i (false alarms) tell the opposite story: recall near zero and, at the
# best threshold, almost every image above it from another class. How this run compares is
# taken up, measure by measure, in the sections below and summed up at the end of the
# chapter.

# %% [markdown]
# ## The counts the text quotes
#
# The paper's text backs Fig. 3 with a few counts: in fc7, 14 units had a precision above
# .9 and 1,487 a CCMAS above .9; no unit anywhere was localist; and, over the whole
# network, the best recall at perfect precision was .08 (unit fc7.255), the best maximum
# informedness .91 (unit 3290, for Monarch butterflies) with more than 99% false alarms
# above its threshold, and no unit had fewer than 96% false alarms at its best threshold.
# Per layer, this run beside the paper (an empty paper cell: the paper gives no such
# number):

# %%
counts = results.quoted_counts(table, threshold=0.9, precision=top.precision)

# %% tags=["remove-input"]
results.counts_beside_paper(counts, reported, top).style.format("{:,.0f}", na_rep="")

# %% [markdown]
# And over every measured unit of the network, with the unit each number belongs to:

# %%
extremes = results.network_extremes(table, source.class_names)

# %% tags=["remove-input"]
results.extremes_beside_paper(extremes, reported).style.format(
    {"this run": "{:.3f}", "paper": "{:.2f}"}, na_rep=""
)

# %% tags=["remove-input"]
display(Markdown(results.describe_counts(counts, extremes, len(table), reported)))

# %% [markdown]
# (ch-alexnet-fig4)=
# ## Fig. 4: the unit that looks most like a detector
#
# The paper illustrates the disagreement with unit fc6.1199: 59 of its 60 most active
# images (precision .98) are Monarch butterflies and its CCMAS is .92, so by the criterion of
# {cite:t}`zhou2015` it is a butterfly detector. Yet butterflies are spread over its whole
# range of activations, 72 of them (5.8%) at exactly zero, and at its best threshold more
# than 99% of the images above are other things. This run takes the unit with the highest
# top-N precision (N is the first of `top_n`), ties going to the higher CCMAS, or the unit
# the `fig4_unit` parameter names, and draws the same three pictures: a jitterplot, a
# histogram of its class, and a histogram of every image that activates it at all.

# %% tags=["remove-input"]
unit = results.fig4_unit(source, table, fig4_unit, top)
display(Markdown(results.describe_fig4_unit(unit, source.class_names)))

# %%
numbers = results.unit_figure_numbers(unit.activations, source.labels, unit.cls, top=top.small)

# %% [markdown]
# Its numbers beside those of the paper's fc6.1199. The paper's maximum informedness is the
# unit's (over every class); the rows marked "for its class" take the best threshold for
# the class the unit's precision counts, the threshold Fig. 4 draws.

# %% tags=["remove-input"]
fig4_table = results.fig4_beside_paper(unit, numbers, source.class_names, top, reported)
fig4_table.style.format("{:.3f}", na_rep="").format(
    "{:,.0f}", subset=pd.IndexSlice[results.image_count_rows(fig4_table), :], na_rep=""
)

# %% tags=["remove-input"]
plan = results.jitter_plan(source, unit, numbers, max_points, seed, top)
if plan.note:
    display(Markdown(plan.note))

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
overlap = results.describe_zero_overlap(
    unit, source.labels, plan.sample, numbers, source.class_names
)
if overlap:
    display(Markdown(overlap))

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
display(Markdown(results.describe_zero_inset(numbers, source.n_images, reported)))

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
display(Markdown(results.describe_fig4(unit, numbers, source.class_names, top, reported)))

# %% [markdown]
# (ch-alexnet-a1)=
# ## Table A1: the top unit of each layer
#
# Appendix B lists, for each layer, the unit with the highest CCMAS and the unit with the
# highest precision (here of the top 100, as the appendix says), each with both scores. Its
# point is that the two rankings pick different units: fc7.31 has the highest CCMAS of any
# hidden unit, .94, yet only 11 of its top 100 images share a class. The output layer is
# included as the paper includes it; this run measures it after a softmax, as class
# probabilities, when `output_softmax` is set (the paper does not say which form it used).

# %%
output = results.measure_output(source, output_layer, cache, output_softmax, options)
a1_units = results.table_a1_units(table, source.hidden, top, output)

# %% tags=["remove-input"]
a1 = results.table_a1_beside_paper(a1_units, paper.reported("Table A1"), top.precision_large)
a1.style.format(
    {
        "CCMAS": "{:.3f}",
        "precision": "{:.2f}",
        "paper CCMAS": "{:.3f}",
        "paper precision": "{:.2f}",
    },
    na_rep="",
).hide(axis="index")

# %% tags=["remove-input"]
display(Markdown(results.describe_table_a1(table, a1, top, reported, output_layer, output_softmax)))

# %% [markdown]
# (ch-alexnet-a2)=
# ## Table A2: how the measures correlate
#
# Appendix B correlates five numbers over units: precision (top 100), CCMAS, recall at .95
# precision, maximum informedness and the number of classes among the top 100. The paper
# reports moderate positive correlations of precision with CCMAS (.38) and with recall at
# .95 precision (.30), weak ones elsewhere, and negative correlations of every measure with
# the number of classes. It does not say which units it pooled; this run pools every
# measured unit of the hidden layers. The p-values come from Fisher's z transform (the
# paper reports all p < .001).

# %%
pairs = results.table_a2_pairs(table, top, reported)

# %% tags=["remove-input"]
pairs.style.format({"correlation": "{:.2f}", "paper": "{:.2f}", "p": "{:.1e}"}, na_rep="")

# %% tags=["remove-input"]
a2_text = results.describe_table_a2(pairs)
if a2_text:
    display(Markdown(a2_text))

# %% [markdown]
# (ch-alexnet-c)=
# ## Appendix C: CCMAS for the best and the second-best class
#
# If a high CCMAS meant that a unit singles out one class, the class with the second-highest
# mean should score much lower. Appendix C finds it does not: the mean CCMAS and the mean
# CCMAS2 (the same formula for the runner-up class) are close in every layer, .491 against
# .464 in conv5, .844 against .821 in fc6 and .848 against .831 in fc7. Its example is fc7.0,
# with a CCMAS of .813 for 'maypole' and .808 for 'chainsaw'.

# %%
c_table = results.ccmas_vs_ccmas2(table)

# %% tags=["remove-input"]
results.appendix_c_beside_paper(c_table, reported).style.format(precision=3, na_rep="")

# %% tags=["remove-input"]
display(Markdown(results.describe_appendix_c(c_table, table, source.class_names, reported)))

# %% [markdown]
# (ch-alexnet-verdict)=
# ## What is the same, what differs, and why
#
# Each of the paper's findings in Section 3.1 and Appendices B-C, and whether this run
# shows it:

# %% tags=["remove-input"]
findings = results.paper_findings(table, top.precision, reported)
display(results.findings_shown(findings).style.hide(axis="index"))
display(Markdown(results.describe_findings(findings)))

# %% tags=["remove-input"]
# A worked number for the base-rate argument below, with this run's class count.
display(Markdown(results.describe_base_rate(source.n_classes, reported)))

# %% [markdown]
# **The network and the images.** Unless the profile reads the authors' files, the units
# here belong to another network: for the default profile a quarter-width AlexNet
# trained here for a few epochs on small greyscale photographs of clothing
# {cite:p}`xiao2017`, whose classes differ in shape more cleanly than ImageNet's 1,000. The
# layers share their names and their place in the network with the paper's, not their
# units, so unit numbers (fc7.255, fc6.1199) name different units.
#
# **Silent images and CCMAS2.** CCMAS compares a class with the pooled mean of every other
# image. Among 1,000 classes that pool barely changes when one class is taken out, and in
# a sparse unit it is held down by the many images that give zero, so the runner-up class
# can stand almost as far above it as the best class: CCMAS2 comes out close to CCMAS, as
# Appendix C reports. Among 10 classes the best class is a tenth of the pool from which
# CCMAS2 is computed, and its strong activations raise that pool's mean, so CCMAS2 falls
# well below CCMAS. The gap in this run's Appendix C table is expected for that reason
# alone; it does not show that the small network's units are more selective.
#
# **Which units.** The paper measured random subsets of units (233 of conv5, 2,738 of fc6,
# 2,239 of fc7) and this run the units the profile chooses, every unit by default. Counts
# grow with the number of units measured; shares and medians do not.
#
# **The measures themselves.** The definitions here follow the paper's text
# ({ref}`ch-measures`); the authors' code differs in places (ties broken by sort order, a
# different recall at perfect precision), which could move some of the paper's own numbers.
#
# With the `alexnet-merged` profile the number of classes, the network and the images are
# the paper's own: the chapter then reads the authors' activation files, and only the
# choice of units and the exact definitions can separate its numbers from the paper's.

# %% [markdown]
# (ch-alexnet-rerun)=
# ## Rerunning this chapter
#
# **Other units or layers.** Each parameter at the top of the page can be changed without
# touching the code. To rerun the chapter alone with papermill, on the default profile's
# recording, for the first 256 units of fc6 and fc7 and with unit fc7.12 in Fig. 4:
#
# ```bash
# .venv/bin/jupytext --to ipynb notebooks/02_alexnet_results.py -o /tmp/02.ipynb
# .venv/bin/papermill /tmp/02.ipynb /tmp/02-out.ipynb \
#     -p store data/cache/activations/small-alexnet-9c1fd466b193ae7c__fashion-mnist_test__correct.h5 \
#     -y '{layers: [fc6, fc7], units: "0:256", fig4_unit: fc7.12}'
# ```
#
# Without `-p store` the notebook reads the recording of the profile given by `-p profile`
# (default `default`). A layer the file does not have, or a unit range outside a layer,
# stops the notebook in its first cell with a message that lists what the file holds.
# To change the book itself, edit the `02_alexnet_results:` section of
# `notebooks/params/<profile>.yml` and run `.venv/bin/compendium notebooks --only
# 02_alexnet_results` (this page only) or `make book` (every page).
#
# **The paper's own data.** Download the authors' `AN_merged_<layer>_max.h5` files for
# conv5, fc6, fc7 and fc8 (about 27 GB) into one folder, then
#
# ```bash
# COMPENDIUM_ALEXNET_MERGED=/data/AlexNet_Merged make book PROFILE=alexnet-merged
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
# COMPENDIUM_IMAGENET=/data/imagenet/val make book PROFILE=imagenet
# ```
#
# `notebooks/params/imagenet.yml` says which network, weights and layers, and how many
# images per class are recorded.
#
# **The measures table alone**, for any activation file, as CSV:
#
# ```bash
# .venv/bin/compendium measures ACTIVATIONS.h5 --layer fc6 --units 0:512 --out fc6.csv
# ```
