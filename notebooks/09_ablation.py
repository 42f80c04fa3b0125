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
# (ch-ablation)=
# # Do selective units matter? Ablation and selectivity regularisation
#
# The paper asks whether units *are* object detectors. Work around it asks whether the
# selective units *matter* to the network. {cite:t}`morcos2018` silenced units one at a
# time and found that a unit's class selectivity says little about how much the network
# needs it; {cite:t}`zhou2018ablation`, whose study the paper's Discussion cites, found
# that silencing one unit barely moves overall accuracy but can hurt particular classes,
# and that selectivity does predict which; {cite:t}`leavitt2021` trained networks with a
# penalty or a reward for selectivity and found that less selectivity costs nothing (or
# helps) while more selectivity costs accuracy. This chapter asks both questions of the
# same units, with the measures of {ref}`ch-measures`:
#
# 1. **Ablation.** Each unit of the chosen layers is set to zero (a convolutional unit: its
#    whole channel) and the network is scored on every test image: the drop in overall
#    accuracy, and the drop of each class. Then the k most selective units by each measure
#    are silenced together, against k random units.
# 2. **Correlations.** Does a unit that a measure calls selective for a class matter more
#    for that class? Spearman correlations with permutation p-values, layer by layer.
# 3. **Selectivity regularisation.** The small AlexNet is trained again with the loss
#    `CE - alpha * SI` ({cite:t}`leavitt2021`) for a sweep of alpha, and each network's test
#    accuracy and measures are compared.
#
# The exact definitions are in `spec/beyond.md` ("Ablation", "Selectivity
# regularisation"); the related studies' findings come from the data file
# `src/compendium/data/paper_numbers.csv`, each with its source.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
layers = ["conv5", "fc6", "fc7"]  # layers whose units are ablated and measured
n_images = None  # test images to evaluate on: None for all of them
rankings = [  # measures the top-k sweeps rank units by (most selective first)
    "precision_60",
    "ccmas",
    "localist_gap",
    "recall_p100",
    "max_informedness",
    "detector_margin",
]
ks = None  # numbers of units silenced together; None: 1, 2, 4, ... up to half the layer
n_random = 5  # random draws of k units (the band is their mean +- 2 SD)
n_permutations = 1000  # permutations of each correlation's and each sign-flip test's p
material_drop = 0.01  # an ablation "hurts" when it costs more accuracy than this
predictive_rho = 0.3  # a measure "predicts" damage with Spearman rho of at least this, p < .05
alphas = [-1.0, -0.3, 0.0, 0.3, 1.0]  # the regulariser's weights: < 0 penalises selectivity
sweep_epochs = 2  # epochs of each regularised training
sweep_n_train = 20000  # training images of each regularised training (None: all 60,000)
sweep_layers = None  # layers whose SI is regularised (None: `layers`)
sweep_summary = "max"  # a conv unit's number per image in SI: "max" (as recorded) or "mean"
fast = True  # ablate from stored activations where the network allows
include_silent = False  # keep units that never respond in the summaries (the book's policy: no)
memory_gb = 0.5  # working memory of the measures
threads = 2  # CPU threads of the trainings
seed = 0  # seed of the random units and of the permutations

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.build import profiles, stages
from compendium.chapters import ablation as chapter
from compendium.chapters import ablation_exercises, exercises, page, paper
from compendium.chapters.downloads import csv_download
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {
        "layers": layers,
        "n_images": n_images,
        "rankings": rankings,
        "ks": ks,
        "n_random": n_random,
        "n_permutations": n_permutations,
        "material_drop": material_drop,
        "predictive_rho": predictive_rho,
        "alphas": alphas,
        "sweep_epochs": sweep_epochs,
        "sweep_n_train": sweep_n_train,
        "sweep_layers": sweep_layers,
        "sweep_summary": sweep_summary,
        "fast": fast,
        "include_silent": include_silent,
        "memory_gb": memory_gb,
        "threads": threads,
        "seed": seed,
    },
)

# Every parameter is checked here, before any work; a bad one stops the page with a message.
plan = chapter.ChapterPlan.from_parameters(
    layers=layers,
    rankings=rankings,
    ks=ks,
    n_random=n_random,
    n_permutations=n_permutations,
    n_images=n_images,
    alphas=alphas,
    sweep_epochs=sweep_epochs,
    sweep_n_train=sweep_n_train,
    sweep_layers=sweep_layers,
    sweep_summary=sweep_summary,
    material_drop=material_drop,
    predictive_rho=predictive_rho,
    fast=fast,
    include_silent=include_silent,
    seed=seed,
    threads=threads,
)
prof = profiles.load_profile(profile)
base = stages.profile_train_config(prof) if profiles.source(prof) == "fashion-mnist" else None
behind = stages.profile_network(profile) if base is not None else None
model, model_id = (behind.model, behind.model_id) if behind is not None else (None, "")
reported = paper.reported()
cache = cache_dir() / "measures"
display(stages.weights_banner(profile))
if model is None:
    display(Markdown(chapter.no_network_note(profiles.source(prof))))

# %% [markdown]
# ## Part 1: silencing one unit at a time
#
# Each unit of each layer is silenced on its own and the network classifies every test
# image, so a unit's row says how much accuracy the network loses without it, overall and
# class by class. A layer is recorded once on the test images; for the small AlexNet only
# the layers above it are then run, from the stored input of the next layer
# (`compendium.methods.ablation`), which gives the same logits as a full forward pass in a
# fraction of the time. The tables are cached under `data/cache/ablation`, so the page
# reads them back when nothing changed.

# %%
run = chapter.ablate_layers(model, model_id, plan)
measures = (
    chapter.layer_measures(stages.chapter_store(profile), plan.layers, cache, memory_gb)
    if run is not None
    else None
)
split = chapter.silent_split(measures, plan)  # the book's policy for units that never respond
kept = split.kept if split is not None else None

# %% tags=["remove-input"]
if run is not None:
    display(Markdown(chapter.describe_timing(run)))
    display(
        page.compact(chapter.timing_table(run), ("threads", "load_average", "read from cache now"))
    )
    display(csv_download(chapter.timing_table(run), "ch7-ablation-timing"))
    display(csv_download(run.table, "ch7-single-unit-ablation", "Every unit's ablation as CSV:"))

# %% tags=["remove-input"]
if split is not None and split.note():
    display(Markdown(split.note()))

# %% [markdown]
# A unit's *own class* is the class a measure names: below, the class of its maximum
# informedness and, separately, the class of its top-60 precision. Per layer, the loss of
# overall accuracy, the loss of the unit's own class against the mean loss of the other
# classes, and a sign-flip test of that difference (losses in accuracy, as shares of 1):

# %%
summary = chapter.single_unit_summary(run, kept, n_permutations=plan.n_permutations, seed=plan.seed)

# %% tags=["remove-input"]
if summary is not None:
    display(
        page.compact(
            summary,
            (
                "intact accuracy",
                "largest drop",
                "largest-drop unit",
                "largest class drop",
                "its unit and class",
            ),
            4,
        )
    )
    display(csv_download(summary, "ch7-single-units"))
    display(Markdown(chapter.describe_single_units(summary, plan.material_drop)))

# %% [markdown]
# The damage against each measure, unit by unit (choose the measure in the menu; the
# damage is that of the class the measure names; hover a point for its unit):

# %%
points = chapter.damage_points(run, kept)
chapter.damage_chart(points, run)

# %% [markdown]
# ### Silencing the most selective units together
#
# For each k, the k units ranked highest by each measure are silenced together, against k
# units drawn at random (several draws; the grey band is their mean ± 2 SD). If selective
# units carried the network, silencing them would cost more than silencing random ones.
# Silent units come last in every ranking (silencing them changes nothing); the random
# draws may include them, as any unit of the layer.

# %%
top_k = chapter.top_k_runs(run, chapter.ranking_measures(split), plan, model_id)
k_summary = chapter.top_k_summary(top_k[0] if top_k is not None else None)
missing = chapter.describe_missing_rankings(plan, measures)
if missing:
    display(Markdown(missing))
chapter.top_k_chart(k_summary)

# %% tags=["remove-input"]
if k_summary is not None:
    display(csv_download(k_summary, "ch7-top-k"))
    display(Markdown(chapter.describe_top_k(k_summary)))

# %% [markdown]
# ## Part 2: which measure predicts the damage?
#
# Spearman's rho of each measure with the accuracy lost by the class that measure names
# ("its class") and with the overall accuracy lost, per layer; the p-value comes from
# shuffling the damage among the units. The sign is turned so that a positive rho always
# means "the more selective, the more damage" (for the false-alarm proportion, lower is
# more selective).

# %%
found = chapter.correlations(run, kept, plan)

# %% tags=["remove-input"]
if found is not None:
    display(
        chapter.correlation_table(found).style.set_table_styles(
            [{"selector": "", "props": [("font-size", "0.8em")]}]
        )
    )
    display(csv_download(chapter.correlation_table(found), "ch7-correlations"))
    display(Markdown(chapter.describe_correlations(found, plan.predictive_rho)))

# %% [markdown]
# ## Part 3: training for more or less selectivity
#
# {cite:t}`leavitt2021` add `-alpha * SI` to the training loss, where SI is the mean over
# the units of the regularised layers of the class-selectivity index `(mu_max - mu_rest) /
# (mu_max + mu_rest + eps)` on each mini-batch's class means (the measures' "CCMAS with
# class means"). A negative alpha penalises selectivity, a positive one rewards it; alpha
# = 0 is plain training, and this compendium checks that it gives the same weights bit for
# bit. Each network is then recorded like the profile's own network and measured with the
# same engine, on all the test images: the networks differ in accuracy, so keeping only the
# images each one classifies correctly would measure each on other images.

# %% tags=["remove-input"]
if base is not None:
    speed = stages.profile_model(prof).report.get("seconds_per_epoch")
    display(Markdown(chapter.describe_shortening(base, plan, speed)))

# %%
models = chapter.regularisation_sweep(base, plan)
sweep_measures = chapter.sweep_tables(models, plan, cache, memory_gb)
sweep = chapter.sweep_summary(models, sweep_measures)
pooled = chapter.pooled_sweep(sweep)

# %% tags=["remove-input"]
if models is not None:
    display(Markdown(chapter.describe_sweep_timing(chapter.sweep_timing(models))))
    display(page.compact(chapter.sweep_timing(models), ("threads", "load_average")))
    display(csv_download(chapter.sweep_timing(models), "ch7-sweep-training"))

# %%
chapter.sweep_chart(pooled, sweep)

# %% [markdown]
# Per alpha and layer: test accuracy, SI on the test images (silent units count 0, as in
# training), the mean of several measures over the units that are not silent, and the
# units at each of the paper's three detector bars (grandmother units, detectors with more
# hits than misses and than false alarms, and Zhou et al.'s top-60 precision of .75):

# %% tags=["remove-input"]
if sweep is not None:
    display(
        page.compact(
            sweep,
            (
                "regularised",
                "units",
                "counted",
                "Zhou detectors that are not detectors",
                "ccmas_classmean",
                "ccmas",
                "precision_60",
                "recall_p100",
                "mi_false_alarm",
            ),
        )
    )
    display(csv_download(sweep, "ch7-alpha-sweep"))
    display(Markdown(chapter.describe_sweep(sweep)))

# %% [markdown]
# ## Beside the related studies
#
# Each finding of the related studies as the data file states it, what this run shows
# (with the numbers behind it) and whether the two agree. The words have fixed meanings:
# an ablation *hurts* when it costs more than `material_drop` of accuracy; class
# selectivity (CCMAS with class means, the index of Morcos et al. and Zhou et al.)
# *predicts* damage when its rho reaches `predictive_rho` with p < .05 in every layer;
# accuracy *falls* when it drops by more than two standard errors of a difference of two
# test accuracies.

# %%
shown = chapter.this_run_findings(summary, found, sweep, plan.material_drop, plan.predictive_rho)
related = chapter.related_findings(reported, shown)

# %% tags=["remove-input"]
display(related.style.hide(axis="index"))
display(csv_download(related, "ch7-related-findings"))
display(Markdown(chapter.describe_related(related)))

# %% [markdown]
# For the Discussion chapter's table, "does ablating it hurt its class?", per layer:

# %% tags=["remove-input"]
if summary is not None:
    hurts = chapter.hurts_own_class(summary, plan.material_drop)
    display(hurts.drop(columns="answer").style.hide(axis="index"))
    display(csv_download(hurts, "ch7-hurts-its-class"))

# %% [markdown]
# **Why this run can differ from the studies.** They silenced units of networks trained on
# ImageNet (and CIFAR, MNIST, Places) with hundreds or thousands of units per class; here
# ten classes share each layer, so every class has many units that could stand in for a
# silenced one, and each class is a tenth of the test set. The regularised networks are
# trained briefly (see above) and without batch normalisation, which the studies' ResNets
# had. Without it a unit can fall silent, and a silent unit counts 0 in SI whichever way
# alpha pushes, so the regulariser can move SI by silencing units rather than by changing
# what the others respond to; the sweep's table counts the silent units, and its chart
# shows SI both over every unit and over the units that respond.

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
found_exercises = ablation_exercises.exercises(summary, found, sweep, plan.material_drop)
if found_exercises:
    display(exercises.block(found_exercises))

# %% [markdown]
# (ch-ablation-rerun)=
# ## Rerunning this chapter
#
# Every parameter at the top of the page can be changed without touching the code: other
# layers, fewer test images, other rankings or numbers of units, more random draws, other
# alphas or longer trainings (each configuration is trained once and cached). For example,
# to ablate fc6 only and sweep three alphas with three epochs each:
#
# ```bash
# .venv/bin/compendium run 09 -p layers '[fc6]' -p alphas '[-0.3, 0, 0.3]' -p sweep_epochs 3
# ```
#
# The single-unit table of one layer, as CSV, for any profile with a network:
#
# ```bash
# .venv/bin/compendium ablate --profile default --layer fc6 --out fc6-ablation.csv
# .venv/bin/compendium ablate --profile default --layer conv5 --units 0:8 --out conv5.csv
# ```
#
# `bench/ablation.py` times the fast path against full forward passes on fc6.
