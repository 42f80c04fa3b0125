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
# (ch-chance)=
# # Chance, seeds and untrained networks
#
# A precision of .9 or a CCMAS of .8 looks like the mark of an object detector, but the
# paper's measures come with no chance level: neither {cite:t}`gale2020` nor the tools it
# discusses say what a unit would score if the classes meant nothing. This chapter asks it
# of every measure of {ref}`ch-alexnet`'s Fig. 3, with three baselines (the definitions are
# in `spec/beyond.md`, "Chance"):
#
# 1. **Label permutation.** The labels are shuffled among the images many times, the class
#    sizes kept, and every measure of every unit is computed on each shuffle. A unit's
#    p-value is the share of shuffles (the real labels counted once) on which it scores at
#    least as well; a layer's units that beat chance are those whose p-value survives the
#    Benjamini-Hochberg procedure; the pooled null's 2.5th to 97.5th percentiles are the
#    chance band drawn on the boxes.
# 2. **The untrained network.** The same architecture before training, recorded on the same
#    images: which measures tell a trained unit from a random one?
# 3. **Training seeds.** Networks that differ only in their training seed: how much of
#    Fig. 3 is this network, and how much any network trained this way?

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file of the trained network; None: the profile's recording
layers = ["conv5", "fc6", "fc7"]  # hidden layers, as in the paper's Fig. 3
units = None  # None: every unit; "START:STOP" for every layer; or {layer: "START:STOP"}
top_n = [60, 100]  # top-N precision sizes: the paper's 60 (Fig. 3) and 100
n_permutations = 100  # label shuffles per unit (the spec's K)
permutation_seed = 0  # shuffle k is drawn by numpy.random.default_rng([seed, k])
q = 0.05  # false-discovery rate of the Benjamini-Hochberg procedure
untrained_seed = None  # seed of the untrained network's weights; None: the training seed
seeds = [0, 1, 2]  # training seeds of the seed networks
seed_epochs = 2  # epochs of each seed network; None: the profile's
seed_n_train = None  # training images of each seed network; None: the profile's
include_silent = False  # keep units that give every image the same activation
memory_gb = 0.5  # working memory of the measures and of the null
threads = 2  # CPU threads of the trainings and of the null

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.build import profiles, stages
from compendium.chapters import alexnet, detectors, exercises, page, plots
from compendium.chapters import chance as chapter
from compendium.chapters.downloads import csv_download
from compendium.measures import tables
from compendium.methods import controls
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {
        "store": store,
        "layers": layers,
        "units": units,
        "top_n": top_n,
        "n_permutations": n_permutations,
        "permutation_seed": permutation_seed,
        "q": q,
        "untrained_seed": untrained_seed,
        "seeds": seeds,
        "seed_epochs": seed_epochs,
        "seed_n_train": seed_n_train,
        "include_silent": include_silent,
        "memory_gb": memory_gb,
        "threads": threads,
    },
)

# Every parameter is checked here, before any work; a bad one stops the page with a message.
plan = chapter.ChapterPlan.from_parameters(
    layers=layers,
    units=units,
    top_n=top_n,
    n_permutations=n_permutations,
    permutation_seed=permutation_seed,
    q=q,
    seeds=seeds,
    seed_epochs=seed_epochs,
    seed_n_train=seed_n_train,
    untrained_seed=untrained_seed,
    include_silent=include_silent,
    memory_gb=memory_gb,
    threads=threads,
)
prof = profiles.load_profile(profile)
trains_here = profiles.source(prof) == "fashion-mnist"
base = stages.profile_train_config(prof) if trains_here else None
record = profiles.section(prof, "record")
source = alexnet.open_source(stages.chapter_store(profile, store), plan.layers, plan.units)
panels = plan.measures
precision = plan.top.precision
cache = cache_dir() / "measures"
display(stages.weights_banner(profile))

# %% [markdown]
# ## What this run compares
#
# The trained network's units are those of {ref}`ch-alexnet`. The untrained network is
# recorded here (`compendium.methods.controls.record_untrained`), and the seed networks are
# trained and recorded here (`compendium.methods.controls.seed_recordings`); each is cached
# by everything that made it, so a second run of this page reads them back. The seed
# networks are trained for fewer epochs than the profile's network (`seed_epochs`), so that
# the three trainings take about four minutes on two cores; they are compared with each
# other and with the untrained network, not with the profile's network.

# %%
untrained_seed_used = (
    None
    if base is None
    else (plan.untrained_seed if plan.untrained_seed is not None else base.seed)
)
untrained_store = (
    None if base is None else controls.record_untrained(base, source.path, seed=untrained_seed_used)
)
configs = (
    []
    if base is None
    else controls.seed_configs(base, plan.seeds, epochs=plan.seed_epochs, n_train=plan.seed_n_train)
)
runs = controls.seed_recordings(
    configs,
    split=record.get("split", "test"),
    n_images=record.get("n_images"),
    keep=record.get("keep", "correct"),
    threads=plan.threads,
)

# %% tags=["remove-input"]
display(
    Markdown(
        chapter.describe_networks(
            source.made_by,
            source.n_images,
            source.n_classes,
            plan,
            untrained_seed_used,
            {run.seed: run.trained.report["test_accuracy"] for run in runs},
            (configs[0].epochs, configs[0].n_train) if configs else None,
        )
    )
)

# %% [markdown]
# ## Chance by label permutation
#
# `compendium.measures.permutation_null` ranks each unit once and reads every measure off
# that ranking for the real labels and for each shuffle (only the labels move), so the
# observed table is the one of {ref}`ch-alexnet` and each shuffle's values are those that
# `unit_measures` gives on the shuffled labels. The tables are cached under
# `data/cache/measures`. Each cell below is a layer's median, the chance band in brackets
# (2.5th and 97.5th percentiles of the null pooled over the layer's units and shuffles), and
# the units that beat chance out of those counted.

# %%
networks = {"trained": chapter.measure_null(source.path, source.selection, plan, cache)}
if untrained_store is not None:
    networks["untrained"] = chapter.measure_null(untrained_store, source.selection, plan, cache)
summaries = {
    name: chapter.chance_summary(null, list(panels), plan.q, plan.include_silent)
    for name, null in networks.items()
}

# %% tags=["remove-input"]
split = detectors.leave_out_silent(networks["trained"].table, plan.include_silent)
display(Markdown(split.note())) if split.n_silent else None
chance_cells = chapter.chance_table(summaries, panels, source.hidden)
display(chance_cells)
display(csv_download(chance_cells, "chance_by_layer"))
display(Markdown(chapter.describe_chance(summaries, precision, plan.q)))

# %% [markdown]
# ### Chance precision is not 1/C
#
# A reader's first guess at chance precision is the share of the images that one class
# holds. The null says otherwise:

# %% tags=["remove-input"]
chance_precision = chapter.chance_precision(networks["trained"], precision, source.n_classes)
display(chance_precision.style.format("{:.3f}"))
display(csv_download(chance_precision, "chance_precision"))
display(Markdown(chapter.describe_chance_precision(chance_precision, precision, source.n_classes)))

# %% [markdown]
# ## Trained against untrained, with the chance band
#
# Fig. 3's panels with each layer's box for the trained network beside the untrained
# network's, each over its own chance band (shaded; hover it for its numbers). Boxes span
# the middle half of the units, whiskers reach the most extreme units within 1.5 box
# heights, the red bar is the median and the green dot the mean with one standard error.

# %%
boxes = {"": networks["trained"].table}
bands = chapter.layer_bands(networks["trained"])
if "untrained" in networks:
    boxes[chapter.UNTRAINED] = networks["untrained"].table
    bands.update(chapter.layer_bands(networks["untrained"], f" {chapter.UNTRAINED}"))
stats, order = chapter.comparison_distributions(boxes, list(panels), plan.include_silent)
plots.box_plots(stats, panels, layers=order, columns=2, band=chapter.fig3_band(bands, list(panels)))

# %% [markdown]
# Which measures tell the two networks apart? For each layer and measure, A is the
# probability that a unit drawn from the trained network is more selective than one drawn
# from the untrained network (for the false-alarm proportion and the number of classes,
# more selective means lower), ties counting half {cite:p}`vargha2000`: .5 means the two
# distributions are the same.

# %% tags=["remove-input"]
comparison = None
if "untrained" in networks:
    comparison = chapter.compare_networks(
        networks["trained"].table, networks["untrained"].table, list(panels), plan.include_silent
    )
    separation = comparison.pivot(index="measure", columns="layer", values="A")
    separation = separation.reindex(index=list(panels), columns=source.hidden).rename(index=panels)
    display(separation.rename_axis(index=None, columns=None).style.format("{:.2f}"))
    display(csv_download(comparison, "trained_vs_untrained"))
    display(Markdown(chapter.describe_separation(comparison, panels)))
else:
    display(Markdown("No untrained network for this profile: nothing to compare."))

# %% [markdown]
# The paper's three detector bars (see {ref}`ch-alexnet`), counted in both networks:

# %% tags=["remove-input"]
for name, null in networks.items():
    bar_counts = detectors.detector_counts(null.table, include_silent=plan.include_silent)
    display(Markdown(detectors.describe_counts(bar_counts, f"the {name} network", source.hidden)))

# %% [markdown]
# ## Training seeds
#
# Fig. 3's medians and the detector counts of the seed networks, as mean ± SD over the
# seeds (each network measured on its own correctly classified images, as the profile
# measures its network), and how far apart two seeds' units lie: A between them, as
# between the trained and the untrained network above (.5: no difference).

# %%
seed_tables = {
    run.seed: tables.measure_selection(run.store, source.selection, cache_dir=cache, **plan.options)
    for run in runs
}
seed_stats = (
    chapter.seed_statistics(seed_tables, list(panels), plan.include_silent) if runs else None
)
seed_counts = chapter.seed_counts(seed_tables, precision, plan.include_silent) if runs else None

# %% tags=["remove-input"]
agreement = None
if runs:
    display(chapter.seed_table(seed_stats, panels))
    display(csv_download(seed_stats, "seed_statistics"))
    display(chapter.seed_count_table(seed_counts))
    display(csv_download(seed_counts, "seed_counts"))
    agreement = chapter.seed_agreement(seed_tables, list(panels), plan.include_silent)
    if len(runs) > 1:
        display(Markdown("A between the two seeds' networks that differ most, layer by layer:"))
        display(chapter.agreement_table(agreement, panels, source.hidden).style.format("{:.2f}"))
        display(csv_download(agreement, "seed_agreement"))
    display(
        Markdown(
            chapter.describe_seeds(
                seed_stats,
                seed_counts,
                agreement,
                plan.seeds,
                configs[0].epochs,
                configs[0].n_train,
            )
        )
    )
else:
    display(Markdown("No seed networks for this profile."))

# %% [markdown]
# (ch-chance-verdict)=
# ## What the baselines say
#
# Each finding of this chapter with its criterion, and whether this run shows it:

# %% tags=["remove-input"]
spread = len(runs) > 1  # one seed has no spread to judge
findings = chapter.chapter_findings(
    summaries,
    comparison,
    agreement if spread else None,
    seed_counts if spread else None,
    precision,
    source.n_classes,
)
display(chapter.findings_shown(findings).style.hide(axis="index"))
display(Markdown(chapter.describe_findings(findings)))

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(
    exercises.block(
        chapter.exercises(
            source.labels,
            summaries,
            networks,
            precision,
            plan.q,
            plan.n_permutations,
            plan.include_silent,
        )
    )
)

# %% [markdown]
# (ch-chance-rerun)=
# ## Rerunning this chapter
#
# Each parameter at the top of the page can be changed without touching the code. To
# rerun this chapter alone on the default profile with 50 shuffles instead of 100:
#
# ```bash
# .venv/bin/compendium run 08 --profile default -p n_permutations 50
# ```
#
# The shuffles, the untrained network and the seed networks are cached by their settings,
# so a rerun only computes what changed. For any activation file, the p-values alone come
# from the command line: `compendium measures ACTIVATIONS.h5 --layer fc6 --out fc6.csv
# --permutations 100` adds a `<measure>_p` column for each measure.
