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
import warnings

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

# tqdm would warn that notebook progress widgets are missing; plain bars are fine.
warnings.filterwarnings("ignore", message="IProgress not found")

from compendium.activations.store import open_activations  # noqa: E402
from compendium.build import stages as steps
from compendium.chapters import alexnet as results
from compendium.chapters import (
    paper,  # noqa: E402
    plots,
    report,
)
from compendium.measures import tables
from compendium.util.cache import cache_dir  # noqa: E402

pd.set_option("display.precision", 3)
display(
    report.profile_banner(
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
)

# Check every choice against the file before any work: a wrong layer or unit range stops
# here with a message that lists what the file holds.
store_path = steps.chapter_store(profile, store)
selection = tables.unit_selection(store_path, layers, units)
hidden = list(selection)
if output_layer:
    tables.unit_selection(store_path, [output_layer])
p_small, p_large = int(top_n[0]), int(max(top_n))
precision = f"precision_{p_small}"
precision_large = f"precision_{p_large}"
like_paper_top = (p_small, p_large) == (60, 100)
with open_activations(store_path) as source:
    labels = source.labels
    class_names = [name.split(",")[0] for name in source.class_names]
    layer_sizes = {layer: source.n_units(layer) for layer in source.layers}
    store_format, store_attrs = source.format, dict(source.attrs)
n_images = labels.size
n_classes = int(np.unique(labels).size)
reported = paper.reported()
cache = cache_dir() / "measures"

# %% [markdown]
# ## What this run measured
#
# The paper's activations come from the pretrained Caffe AlexNet, recorded for the
# 721,536 ImageNet training images it classified correctly, over 1,000 classes; its authors
# analysed a random subset of units of each layer. This run's activations:

# %% tags=["remove-input"]
if store_format == "alexnet-merged":
    made_by = "the authors' own activation files"
else:
    made_by = (
        f"model `{store_attrs.get('model')}` on `{store_attrs.get('dataset')}` "
        f"({store_attrs.get('selection', 'all')} images)"
    )
display(
    Markdown(
        f"This run reads `{store_path}`: {made_by}. It holds {n_images:,} images of "
        f"{n_classes} classes, so a class holds about {n_images / n_classes:,.0f} images and "
        f"a unit that picked images at random would reach a precision near "
        f"1/{n_classes} = {1 / n_classes:.3f} (in the paper, 1/1000 = .001)."
    )
)
paper_units = reported[reported["measure"] == "units"].set_index("layer")["value"]
sizes = pd.DataFrame(
    {
        "units in the layer": {layer: layer_sizes[layer] for layer in selection},
        "units measured": {
            layer: f"{r.start}:{r.stop} ({r.stop - r.start})" for layer, r in selection.items()
        },
        "paper: units measured": {layer: paper_units.get(layer, np.nan) for layer in selection},
        "paper: units in the layer": {
            layer: {"conv5": 256, "fc6": 4096, "fc7": 4096}.get(layer, np.nan)
            for layer in selection
        },
    }
).rename_axis("layer")
sizes.style.format(
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
options = {"top": tuple(top_n), "memory_bytes": int(memory_gb * 2**30), "progress": False}
table = tables.measure_selection(store_path, selection, cache_dir=cache, **options)

# %% tags=["remove-input"]
(
    table[
        ["layer", "unit", precision, "ccmas", "recall_p100", "max_informedness", "mi_false_alarm"]
    ]
    .head()
    .style.format(precision=3, na_rep="NaN")
    .hide(axis="index")
)

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
panels = results.fig3_panels(top_n)
stats = results.layer_distributions(table, list(panels))
reference = results.fig3_reference(reported) if like_paper_top else None
plots.box_plots(stats, panels, layers=list(selection), reference=reference)

# %% [markdown]
# The same statistics as numbers: each cell is the mean ± its standard error, with the
# median in brackets; the paper's mean CCMAS has its own row.

# %% tags=["remove-input"]
cells = stats.assign(
    cell=[
        f"{m:.3f} ± {e:.3f} ({md:.3f})"
        for m, e, md in zip(stats["mean"], stats["sem"].fillna(0), stats["median"], strict=False)
    ]
)
shown = cells.pivot(index="measure", columns="layer", values="cell")
shown = shown.reindex(index=list(panels), columns=hidden).rename(index=panels)
paper_means = reported[(reported["source"] == "Appendix C") & (reported["measure"] == "mean_ccmas")]
paper_row = paper_means.set_index("layer")["value"].reindex(hidden)
shown.loc["c. CCMAS: the paper's mean"] = [f"{v:.3f}" if v == v else "" for v in paper_row]
order = list(shown.index)
order.insert(order.index(panels["ccmas"]) + 1, order.pop())
shown.loc[order].rename_axis(index=None, columns=None)

# %% tags=["remove-input"]
medians = stats.set_index(["measure", "layer"])["median"]
means = stats.set_index(["measure", "layer"])["mean"]
lines = []
lines.append(
    "Median precision of the top {} is {} and median CCMAS {} (layer by layer: {}).".format(
        p_small,
        ", ".join(f"{medians[(precision, name)]:.2f}" for name in hidden),
        ", ".join(f"{medians[('ccmas', name)]:.2f}" for name in hidden),
        ", ".join(hidden),
    )
)
lines.append(
    "The signal-detection measures sit lower: median recall at perfect precision is {}, "
    "median maximum informedness {}, and at that informedness the median share of false "
    "alarms among the images above the threshold is {}.".format(
        ", ".join(f"{medians[('recall_p100', name)]:.2f}" for name in hidden),
        ", ".join(f"{medians[('max_informedness', name)]:.2f}" for name in hidden),
        ", ".join(f"{medians[('mi_false_alarm', name)]:.2f}" for name in hidden),
    )
)
compared = [name for name in hidden if (paper_means["layer"] == name).any()]
if compared:
    lines.append(
        "The paper's mean CCMAS is "
        + ", ".join(
            f"{paper_means.loc[paper_means['layer'] == name, 'value'].iloc[0]:.3f} for {name} "
            f"(this run {means[('ccmas', name)]:.3f})"
            for name in compared
        )
        + "."
    )
display(Markdown("**This run.** " + " ".join(lines)))

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
counts = results.quoted_counts(table, threshold=0.9, precision=precision)

# %% tags=["remove-input"]
per_layer = counts[["units", "n_precision_above_0.9", "n_ccmas_above_0.9", "n_localist"]]
quoted = reported[reported["source"].str.startswith("Sec.") & reported["unit"].isna()]
if not like_paper_top:  # the paper's precision counts are of the top 60
    quoted = quoted[quoted["measure"] != "n_precision_above_0.9"]
counts_beside = results.beside_paper(per_layer, quoted).rename(
    columns={
        "n_precision_above_0.9": "precision > .9",
        "n_ccmas_above_0.9": "CCMAS > .9",
        "n_localist": "localist",
    },
    level=0,
)
counts_beside.style.format("{:,.0f}", na_rep="")

# %% [markdown]
# And over every measured unit of the network, with the unit each number belongs to:

# %%
extremes = results.network_extremes(table, class_names)

# %% tags=["remove-input"]
extremes = extremes.join(results.paper_extremes(reported))
(
    extremes.set_index("number")
    .rename(columns={"value": "this run"})
    .rename_axis(index=None)
    .style.format({"this run": "{:.3f}", "paper": "{:.2f}"}, na_rep="")
)

# %% tags=["remove-input"]
fc7_like = "fc7" if "fc7" in counts.index else counts.index[-1]
n_fc7 = int(counts.loc[fc7_like, "units"])
share_p = counts.loc[fc7_like, "n_precision_above_0.9"] / n_fc7
share_c = counts.loc[fc7_like, "n_ccmas_above_0.9"] / n_fc7
n_localist = int(counts["n_localist"].sum())
best_r = extremes.loc["best_recall_p100"]
best_mi = extremes.loc["best_max_informedness"]
low_fa = extremes.loc["min_mi_false_alarm"]
text = (
    f"In {fc7_like}, {share_p:.1%} of this run's units have a precision above .9 and "
    f"{share_c:.1%} a CCMAS above .9; in the paper's fc7 the shares are 14/2,239 = 0.6% and "
    f"1,487/2,239 = 66.4%. "
)
text += (
    f"{n_localist} of this run's {len(table):,} units {'is' if n_localist == 1 else 'are'} "
    f"localist (the paper found none). The best recall at perfect precision is "
    f"{best_r['value']:.2f} ({best_r['unit']}, paper .08); the best maximum informedness is "
    f"{best_mi['value']:.2f} ({best_mi['unit']}, for {best_mi['class']}; paper .91), with "
    f"{extremes.loc['its_mi_false_alarm', 'value']:.0%} false alarms above its threshold "
    f"(paper more than 99%); the fewest false alarms at any unit's best threshold are "
    f"{low_fa['value']:.0%} (paper 96%)."
)
display(Markdown(f"**This run.** {text}"))

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
if fig4_unit:
    fig4_layer, fig4_index = results.parse_unit_label(fig4_unit)
    tables.unit_selection(store_path, [fig4_layer], {fig4_layer: f"{fig4_index}:{fig4_index + 1}"})
    in_table = table[(table["layer"] == fig4_layer) & (table["unit"] == fig4_index)]
    unit_row = (
        in_table.iloc[0]
        if len(in_table)
        else tables.measure_layers(
            store_path, [fig4_layer], slice(fig4_index, fig4_index + 1), top=tuple(top_n)
        ).iloc[0]
    )
else:
    unit_row = results.most_detector_like(table, precision)
    fig4_layer, fig4_index = unit_row["layer"], int(unit_row["unit"])
fig4_label = results.unit_label(fig4_layer, fig4_index)
fig4_class = int(unit_row[f"{precision}_class"])
with open_activations(store_path) as source:
    column = source.activations(fig4_layer)[:, fig4_index : fig4_index + 1]
x = np.asarray(column, dtype=float)[:, 0]
display(
    Markdown(
        f"This run's unit is **{fig4_label}**: precision {unit_row[precision]:.2f} for "
        f"{class_names[fig4_class]}, CCMAS {unit_row['ccmas']:.2f}, maximum informedness "
        f"{unit_row['max_informedness']:.2f}."
    )
)

# %%
numbers = results.unit_figure_numbers(x, labels, fig4_class, top=p_small)

# %% [markdown]
# Its numbers beside those of the paper's fc6.1199. The paper's maximum informedness is the
# unit's (over every class); the rows marked "for its class" take the best threshold for
# the class the unit's precision counts, the threshold Fig. 4 draws.

# %% tags=["remove-input"]
paper_unit = reported[
    (reported["layer"] == "fc6")
    & (reported["unit"] == 1199)
    & reported["source"].str.startswith(("Sec. 3.1", "Fig. 4"))
]
paper_unit = paper_unit.groupby("measure")["value"].first()
rows = {
    f"precision (top {p_small})": (unit_row[precision], paper_unit.get("precision_60")),
    "CCMAS": (unit_row["ccmas"], paper_unit.get("ccmas")),
    "max informedness": (unit_row["max_informedness"], paper_unit.get("max_informedness")),
    "false-alarm proportion at max informedness": (
        unit_row["mi_false_alarm"],
        paper_unit.get("mi_false_alarm"),
    ),
    "max informedness for its class": (numbers["class_max_informedness"], np.nan),
    "false-alarm proportion there": (numbers["class_mi_false_alarm"], np.nan),
    f"images of its class above the top-{p_small} cut": (
        numbers[f"top{p_small}_hits"],
        paper_unit.get("top60_hits"),
    ),
    "images of its class": (numbers["class_count"], paper_unit.get("class_count")),
    f"recall at the top-{p_small} cut": (
        numbers[f"top{p_small}_recall"],
        paper_unit.get("top60_recall"),
    ),
    f"false-alarm proportion at the top-{p_small} cut": (
        numbers[f"top{p_small}_false_alarm"],
        paper_unit.get("top60_false_alarm"),
    ),
    "images at exactly 0 (all classes)": (numbers["n_zero_all"], paper_unit.get("n_zero_all")),
    "images of its class at exactly 0": (numbers["n_zero_class"], paper_unit.get("n_zero_class")),
    "share of its class at exactly 0": (
        numbers["share_zero_class"],
        paper_unit.get("share_zero_class"),
    ),
    "mean activation of its class": (numbers["class_mean"], paper_unit.get("class_mean")),
    "largest activation of its class": (numbers["class_max"], paper_unit.get("class_max")),
}
fig4_table = pd.DataFrame(
    rows,
    index=[
        f"this run: {fig4_label} ({class_names[fig4_class]})",
        "paper: fc6.1199 (Monarch butterfly)",
    ],
).T
counted = [row for row in fig4_table.index if row.startswith("images")]
(
    fig4_table.style.format("{:.3f}", na_rep="").format(
        "{:,.0f}", subset=pd.IndexSlice[counted, :], na_rep=""
    )
)

# %% tags=["remove-input"]
sample = results.jitter_sample(labels, fig4_class, max_points, seed)
n_other = int((labels != fig4_class).sum())
if sample.size < n_images:
    drawn = (
        f"all {numbers['class_count']:,} images of {class_names[fig4_class]} and a random "
        f"{sample.size - numbers['class_count']:,} of the other {n_other:,}"
    )
    display(
        Markdown(
            f"With {n_images:,} images a jitterplot of every image would be too heavy for a web "
            f"page, so it draws {drawn} (seed {seed}; `max_points = {max_points}`). The "
            "thresholds and every number on this page use all the images."
        )
    )
else:
    drawn = f"all {n_images:,} images"
thresholds = {
    f"max-informedness threshold for {class_names[fig4_class]}": numbers["class_mi_threshold"],
    f"top-{p_small} cut": numbers[f"top{p_small}_threshold"],
}

# %%
plots.jitterplot(
    x[sample],
    labels[sample],
    class_names,
    fig4_label,
    highlight_class=fig4_class,
    thresholds=thresholds,
    seed=seed,
    image_index=sample,
    title=f"{fig4_label}: {drawn} ({class_names[fig4_class]} highlighted)",
)

# %% tags=["remove-input"]
zero_others = int(np.sum((x[sample] == 0) & (labels[sample] != fig4_class)))  # as drawn
if zero_others and numbers["n_zero_class"]:
    display(
        Markdown(
            f"The images of {class_names[fig4_class]} are drawn on top: at exactly zero the "
            f"{numbers['n_zero_class']:,} of them cover {zero_others:,} images of other classes."
        )
    )

# %% [markdown]
# The histogram of the class alone shows where its images fall, and how many the top-N
# cut leaves out:

# %%
plots.histogram(
    x,
    labels,
    class_names,
    fig4_label,
    highlight_class=fig4_class,
    thresholds=thresholds,
    which="class",
)

# %% tags=["remove-input"]
display(
    Markdown(
        f"Like the inset of the paper's Fig. 4, the histogram of every image leaves out the "
        f"{numbers['n_zero_all']:,} images at exactly zero ({numbers['n_zero_all'] / n_images:.0%} "
        f"of all; the paper's unit has 596,734 of 721,536, 83%), which would dwarf every other bar:"
    )
)

# %%
active = x > 0
plots.histogram(
    x[active],
    labels[active],
    class_names,
    f"{fig4_label} (images above 0)",
    highlight_class=fig4_class,
    thresholds=thresholds,
    which="all",
)

# %% tags=["remove-input"]
verdict = (
    f"**This run.** Unit {fig4_label} puts {numbers[f'top{p_small}_hits']} images of "
    f"{class_names[fig4_class]} among its top {p_small} (precision {unit_row[precision]:.2f}; "
    f"the paper's fc6.1199: 59 of 60). That is {numbers[f'top{p_small}_recall']:.0%} of the "
    f"class's {numbers['class_count']:,} images (paper 5% of 1,241); "
    f"{numbers['n_zero_class']:,} of them ({numbers['share_zero_class']:.1%}) give exactly zero "
    f"(paper 72, 5.8%), and at the best threshold for the class "
    f"{numbers['class_mi_false_alarm']:.0%} of the images above it belong to other classes "
    f"(paper more than 99%)."
)
display(Markdown(verdict))

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
ranked, order = table, hidden[::-1]  # the paper's order: top layer first
if output_layer:
    output = tables.measure_layers(
        store_path, [output_layer], cache_dir=cache, softmax=bool(output_softmax), **options
    )
    ranked, order = pd.concat([output, table]), [output_layer, *order]
top = results.top_units(ranked, ("ccmas", precision_large), layers=order)

# %% tags=["remove-input"]
paper_a1 = reported[reported["source"] == "Table A1"]
a1 = results.table_a1_beside_paper(top, paper_a1, precision_large)
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
best_ccmas = table["ccmas"].max()
tied = table[table["ccmas"] >= best_ccmas - 5e-4]  # equal to the three decimals shown
if len(tied) == 1:
    best = tied.iloc[0]
    text = (
        f"**This run.** The hidden unit with the highest CCMAS is "
        f"{results.unit_label(best['layer'], best['unit'])} ({best_ccmas:.3f}), and "
        f"{best[precision_large]:.0%} of its top {p_large} images share a class "
    )
else:
    text = (
        f"**This run.** {len(tied)} hidden units share the highest CCMAS, {best_ccmas:.3f}; "
        f"the share of their top {p_large} images held by one class ranges from "
        f"{tied[precision_large].min():.0%} to {tied[precision_large].max():.0%} "
    )
text += "(paper: fc7.31, .94 and 11%). "
same = [
    r["layer"]
    for _, r in a1.iterrows()
    if r["ranked by"] == "CCMAS"
    and r["unit"] in set(a1.loc[a1["ranked by"] == "precision", "unit"])
]
text += (
    f"The two rankings pick the same unit in {', '.join(same)}; "
    if same
    else "The two rankings pick a different unit in every layer, as in the paper; "
)
text += "the paper's units are named beside this run's only to show their scores."
if output_layer and not output_softmax:
    text += " The output layer is measured on its raw values."
display(Markdown(text))

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
corr = results.measure_correlations(table, results.table_a2_measures(top_n))
pairs = results.correlation_pairs(corr, table).set_index("pair")

# %% tags=["remove-input"]
if like_paper_top:
    paper_a2 = reported[reported["source"] == "Table A2"].set_index("case")["value"]
    pairs["paper"] = paper_a2.reindex(pairs.index)
pairs.style.format({"correlation": "{:.2f}", "paper": "{:.2f}", "p": "{:.1e}"}, na_rep="")

# %% tags=["remove-input"]
if like_paper_top:
    same_sign = int((np.sign(pairs["correlation"]) == np.sign(pairs["paper"])).sum())
    gap = (pairs["correlation"] - pairs["paper"]).abs()
    display(
        Markdown(
            f"**This run.** {same_sign} of the {len(pairs)} correlations have the paper's sign; "
            f"they differ from the paper's by {gap.median():.2f} at the median and by "
            f"{gap.max():.2f} at most ({gap.idxmax().replace('|', ' with ')})."
        )
    )

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
c_beside = results.beside_paper(
    c_table[["mean_ccmas", "mean_ccmas_2"]],
    reported[reported["source"] == "Appendix C"]
    .dropna(subset=["layer"])
    .loc[lambda r: r["unit"].isna()],
)
c_beside[("mean_difference", "this run")] = c_table["mean_difference"]
c_beside.style.format(precision=3, na_rep="")

# %% tags=["remove-input"]
text = (
    "**This run.** "
    + "; ".join(
        f"{'In' if i == 0 else 'in'} {layer} the mean CCMAS is {row['mean_ccmas']:.3f} and the mean CCMAS2 "
        f"{row['mean_ccmas_2']:.3f}"
        for i, (layer, row) in enumerate(c_table.iterrows())
    )
    + "."
)
example = table[(table["layer"] == "fc7") & (table["unit"] == 0)]
if len(example):
    e = example.iloc[0]
    if np.isnan(e["ccmas"]):
        text += " Unit fc7.0 gives zero for every image, so its CCMAS is undefined."
    else:
        text += (
            f" Unit fc7.0 has a CCMAS of {e['ccmas']:.3f} for {class_names[int(e['ccmas_class'])]} "
            f"and {e['ccmas_2']:.3f} for {class_names[int(e['ccmas_2_class'])]} (paper: .813 for "
            f"'maypole', .808 for 'chainsaw'; this run's fc7.0 is another unit of another network, "
            f"unless the profile reads the authors' files)."
        )
display(Markdown(text))

# %% [markdown]
# (ch-alexnet-verdict)=
# ## What is the same, what differs, and why
#
# Each of the paper's findings in Section 3.1 and Appendices B-C, and whether this run
# shows it:

# %% tags=["remove-input"]
findings = results.paper_findings(table, precision)
n_same = int(findings["same"].sum())
findings["same"] = findings["same"].map({True: "yes", False: "no"})
display(findings.style.hide(axis="index"))
display(
    Markdown(
        f"This run shows {n_same} of the {len(findings)} findings. A finding it does not show "
        f"is not a failure to reproduce the paper unless the profile reads the paper's own "
        f"activations: the reasons follow."
    )
)

# %% tags=["remove-input"]
# A worked number for the base-rate argument below, with this run's class count.
catch, stray = 0.5, 0.01
fa_here = stray * (n_classes - 1) / (catch + stray * (n_classes - 1))
fa_paper = stray * 999 / (catch + stray * 999)
display(
    Markdown(
        f"Why they can differ. **The number of classes.** Among {n_classes} classes of about "
        f"equal size a class holds {1 / n_classes:.0%} of the images; among the paper's 1,000, "
        f"0.1%. Suppose a unit's threshold lets through half the images of its class and 1% of "
        f"all the others. With {n_classes} classes the images above the threshold are "
        f"{fa_here:.0%} false alarms; with 1,000 classes they are {fa_paper:.0%}. The same "
        f"unit, judged by the same measure, looks far more like a detector when there are few "
        f"classes to confuse its class with, so the false-alarm proportions, recall at perfect "
        f"precision and localist counts of a {n_classes}-class network cannot be held to the paper's "
        f"values. Chance precision moves the same way (1/{n_classes} here against 1/1000)."
    )
)

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
