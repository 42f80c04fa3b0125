# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (compendium)
#     language: python
#     name: compendium
# ---

# %% [markdown]
# (ch-discussion)=
# # Discussion: which units are detectors, by the paper's own bars?
#
# The Discussion of {cite:t}`gale2020` asks how selective a unit must be before it may be
# called an object detector, and names three answers, from the strictest to the most
# lenient: a **grandmother unit**, which responds to every image of one class more strongly
# than to any other image; a **detector** on what the paper calls a reasonable reading,
# with some threshold of activation that lets through more hits than misses and more hits
# than false alarms; and a **detector in the sense of {cite:t}`zhou2015`**, most of whose
# most active images belong to one class. The exact bars are set out just below.
#
# The paper counts units only at the first bar (it finds none in three layers of AlexNet);
# its signal-detection numbers speak against the second, and its precision numbers show
# that many units pass the third. This chapter counts every unit of every network the book
# measures at each bar, in one table, and sets the paper's conclusion beside this run's.
# The exact definitions, ties included, are in `spec/beyond.md`; the columns `detector`,
# `detector_class`, `detector_recall` and `detector_false_alarm` of
# `compendium.measures.unit_measures` hold the second bar (for each unit: the threshold with
# the largest hits minus false alarms among those with more hits than misses), and
# `compendium.chapters.detectors` counts the units.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page (set by the pipeline)
chapters = [  # whose networks are counted, each as that chapter runs on this profile
    "02_alexnet_results",
    "04_other_cnns",
    "05_recurrent_control",
]
include_silent = False  # True: count the units that give every image the same activation
baselines = True  # chapter 2's network with shuffled labels and untrained; False: leave out
seed = 0  # seed of the label shuffle (the untrained weights use the training seed)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.build import stages
from compendium.build.pipeline import chapter_parameters
from compendium.build.profiles import load_profile, source
from compendium.chapters import ablation, discussion, exercises, page, paper
from compendium.chapters.downloads import csv_download
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {"chapters": chapters, "include_silent": include_silent, "baselines": baselines, "seed": seed},
    max_columns=30,
)
chosen = discussion.check_chapters(chapters)
reported = paper.reported()
display(Markdown(discussion.describe_bars(reported)))

# %% [markdown]
# ## The networks
#
# Each network is read as its own chapter reads it on this profile: the same activation
# file, layers and options for chapter 2's network (the measures table comes from the same
# cache); the same training settings for chapter 4's networks (measured here from the layer
# chapter 4 dissects up to the output, against the classes each network was trained on); and
# the same two recurrent networks of chapter 5 (a unit counts at a bar when it clears it for
# the letters of some position). Nothing is trained when the other chapters have run: their
# networks come from the cache.

# %%
networks, left_out = [], []
if "02_alexnet_results" in chosen:
    params = chapter_parameters(profile, "02_alexnet_results")
    path = stages.chapter_store(profile, params["store"])
    alexnet = discussion.alexnet_network(path, params, cache_dir() / "measures")
    networks.append(alexnet)
if "04_other_cnns" in chosen:
    found, skipped = discussion.other_cnn_networks(
        chapter_parameters(profile, "04_other_cnns"),
        skip_weights=[n.weights_sha256 for n in networks if n.weights_sha256],
    )
    networks += found
    left_out += skipped
if "05_recurrent_control" in chosen:
    networks += discussion.recurrent_networks(chapter_parameters(profile, "05_recurrent_control"))

# %% [markdown]
# Two baselines show what chapter 2's units score when nothing was learnt: the same units
# with their images' labels shuffled (so that classes mean nothing; the class sizes stay
# the same), and the same architecture untrained, with its seeded default weights, recorded
# on the same images.

# %%
if "02_alexnet_results" in chosen and baselines:
    settings = load_profile(profile)
    trained_here = source(settings) == "fashion-mnist" and not params["store"]
    training = stages.profile_train_config(settings) if trained_here else None
    found, skipped = discussion.baseline_networks(
        alexnet, path, params, cache_dir() / "measures", training, seed=seed
    )
    networks += found
    left_out += skipped

# %% tags=["remove-input"]
display(Markdown(discussion.describe_networks(networks, left_out)))

# %% [markdown]
# Chapter 9 ({ref}`ch-ablation`) silenced every unit of some of chapter 2's layers, one at a
# time. Its answer to "does ablating a unit hurt its class?" joins the table below; it is
# read from chapter 9's cache when that chapter has run. Only a small AlexNet that the
# profile trains is ablated: a recording given as `store`, or the authors' activation files,
# come with no network to silence units in.

# %%
trains_here = source(load_profile(profile)) == "fashion-mnist"  # the only source chapter 9 ablates
ablated = "02_alexnet_results" in chosen and not params["store"] and trains_here
behind = stages.profile_network(profile) if ablated else None
hurts = ablation.own_class_answers(
    behind.model if behind is not None else None,
    behind.model_id if behind is not None else "",
    chapter_parameters(profile, "09_ablation"),
    path if ablated else None,
    cache_dir() / "measures",
)

# %% [markdown]
# **Silent units.** A unit that gives every image the same activation (after a ReLU: zero
# for every image) has no threshold that separates anything; its precision is decided by
# the order of ties and its CCMAS is undefined. The book leaves such units out of its
# counts and distributions unless `include_silent` is set, and says how many there are:

# %% tags=["remove-input"]
display(Markdown(discussion.describe_silent_units(networks, include_silent)))

# %% [markdown]
# (ch-discussion-table)=
# ## Every network at the three bars
#
# The networks, each with the key that stands for it in the table of counts below, and
# their classes:

# %%
counts = discussion.discussion_counts(networks, include_silent=include_silent)
table = discussion.discussion_table(counts, networks, reported)
table = discussion.with_ablation(table, hurts, alexnet.name if ablated else None)
legend, by_layer = discussion.page_tables(table)

# %% tags=["remove-input"]
legend

# %% [markdown]
# One row per network (by its key) and layer: whether the layer is hidden or the output
# layer, the units measured, the silent ones, the units counted, and how many of those
# clear each bar, numbered as above: **bar 1** counts grandmother units, **bar 2**
# detectors on the reasonable reading, **bar 3** Zhou detectors. **bar 3, not 2** counts
# the units that pass the precision test but not the reasonable bar: the kind of unit the
# paper calls mischaracterised (its Monarch butterfly unit of Fig. 4). The last column,
# **paper: bar 1**, is the paper's count of grandmother units in the AlexNet layer of the
# same name; the paper gives no count at the other two bars. Where chapter 9 ablated a
# layer, **hurts class** says whether silencing one of its units hurts the class it is most
# informative about (yes, slightly or no; see below; a dash: not ablated). The download
# holds both tables in one, with the networks' names and the columns' long titles.

# %% tags=["remove-input"]
counted = by_layer.select_dtypes("number").columns
display(by_layer.style.format({c: "{:,.0f}" for c in counted}, na_rep=""))
display(csv_download(table, "ch10-bars"))
display(Markdown(discussion.describe_ablation(hurts, alexnet.name if ablated else None, table)))

# %% [markdown]
# Network by network, what the counts say:

# %% tags=["remove-input"]
display(Markdown(discussion.describe_each(counts, networks)))

# %% [markdown]
# (ch-discussion-verdict)=
# ## The paper's conclusion beside this run's
#
# The paper concludes that the measures which suggest object detectors in AlexNet
# (precision, CCMAS, and Network Dissection's overlap) mislead: its most selective units
# have a poor hit rate, many false alarms, or both, and none is a grandmother unit. The same
# held, it reports, for VGG-16 and GoogLeNet. What it found at each bar, beside what this
# run finds in the hidden layers of its networks:

# %% tags=["remove-input"]
verdicts = discussion.bar_verdicts(counts, networks, reported)
verdicts.style.hide(axis="index")

# %% tags=["remove-input"]
display(Markdown(f"**This run ({profile}).** {discussion.describe_verdict(counts, networks)}"))

# %% tags=["remove-input"]
display(Markdown(discussion.describe_why(networks, reported)))

# %% [markdown]
# **What the bars do not say.** Each bar asks about one class at a time and about
# activations alone. A unit that clears the second bar for a class still fires for other
# classes below its threshold and may matter little to the network's decisions; a unit that
# misses every bar may still carry information in combination with others. Whether a
# unit matters is the question of ablation (removing it and measuring the damage), not of
# these counts.

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
found_exercises = discussion.exercises(counts, networks)
if found_exercises:
    display(exercises.block(found_exercises))

# %% [markdown]
# (ch-discussion-rerun)=
# ## Rerunning this chapter
#
# The chapter reads the other chapters' parameters from the profile, so it counts the
# networks the book shows. To rerun it alone and rebuild the book (any chapter whose page is
# missing is executed first):
#
# ```bash
# .venv/bin/compendium run 10 --profile default
# .venv/bin/compendium run 10 --profile default -p include_silent true
# .venv/bin/compendium run 10 --profile default -p chapters '[02_alexnet_results]'
# ```
#
# The first counts as the book does; the second keeps the silent units in the counts; the
# third counts chapter 2's network only (with its baselines; `-p baselines false` leaves
# them out, `-p seed 1` shuffles the labels another way). To change a network, change its own chapter's
# section of `notebooks/params/<profile>.yml` (e.g. the layers or units of
# `02_alexnet_results`, the networks of `04_other_cnns`): this chapter follows it. With
# `--profile smoke` every network is a tiny one trained for seconds, and with
# `--profile alexnet-merged` chapter 2's network is the paper's own AlexNet, read from the
# authors' activation files.
