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
# (ch-am)=
# # Activation maximisation in {glue:text}`ch3_network`, and what judges see in it
#
# A popular way to ask what a unit has learned is to let the network draw it: start from
# noise and change the image, step by step, in whatever direction raises the unit's
# activation. If the pictures that come out look like one kind of object, the unit is read
# as a detector for it. Section 3.2 of {cite:t}`gale2020` put that reading to a test with
# people. This chapter rebuilds that study on the profile's network: it makes the
# activation-maximisation (AM) images in two ways, checks that they really drive their
# units, lays out the experiment as the paper ran it, and computes Table 1 from a table of
# answers, given by people (through the {ref}`experiment page <experiment>`) or by **model
# observers**, independently trained networks that stand in for people. The box below says
# first whether this run agrees with the paper.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file; None: the profile's recording
layers = ["conv5", "fc6", "fc8"]  # the paper's three layers
units = {"conv5": 4, "fc6": 6, "fc8": 10}  # per layer: how many to draw at random, or a list
images_per_unit = 100  # AM images per unit, shown as one square panel (as in the paper)
steps = 48  # optimisation steps per image of the pixel-space method
am_settings = {}  # further compendium.methods.am.AMConfig settings, e.g. {"lr": 0.1}
am_method = "generator"  # the panels the experiment and the judges see: generator or pixel
generator = {}  # LatentAMConfig settings of the generator method; its train: GeneratorConfig
observers = [  # model observers (compendium.methods.observers.ObserverSpec), one per judge
    {"name": "mlp-256", "arch": "mlp", "width": 256, "seed": 1},
]
n_lists = 1  # counterbalanced lists the panels are dealt into
confidence = 0.8  # an observer counts an image only if it gives its class this probability
agreement = 0.5  # ... and says yes when that many of a panel's images share one class
threshold = 0.8  # share of yes answers that makes a unit consistently interpretable
responses = None  # CSV of answers from the experiment page; "example": the shipped scripted file; None: model observers
synonyms = None  # CSV of phrase,group rows for matching labels; None: the shipped table
examples = 3  # panels shown in each half of the Fig. 5 counterpart
include_silent = False  # True lets units that never fire into the draw and the counts
memory_gb = 0.5  # working memory of the measures of the drawn layers
seed = 0  # seed of the unit sample, the lists and the AM images
threads = 1  # CPU threads for torch

# %% tags=["remove-input"]
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # before tqdm is imported

import torch
from IPython.display import Markdown, display
from myst_nb import glue

from compendium.activations.reader import open_activations
from compendium.build import stages
from compendium.chapters import activation_maximisation as chapter
from compendium.chapters import activation_maximisation_page as words
from compendium.chapters import alexnet, detectors, exercises, page, paper, plots
from compendium.chapters import experiment as with_people
from compendium.chapters.alexnet_paper import paper_n_classes
from compendium.chapters.downloads import csv_download
from compendium.methods import am, behaviour
from compendium.methods.generator import check_method
from compendium.util.cache import cache_dir

torch.set_num_threads(threads)
page.setup(
    profile,
    {
        "store": store,
        "layers": layers,
        "units": units,
        "images_per_unit": images_per_unit,
        "steps": steps,
        "am_settings": am_settings,
        "am_method": am_method,
        "generator": generator,
        "observers": [o["name"] for o in observers],
        "n_lists": n_lists,
        "confidence": confidence,
        "agreement": agreement,
        "threshold": threshold,
        "responses": responses,
        "synonyms": synonyms,
        "include_silent": include_silent,
        "seed": seed,
    },
    precision=2,
)
if store is None:
    display(stages.weights_banner(profile))

# Check the choices before any work: a wrong method, response file, layer or unit stops here.
check_method(am_method)
response_file = words.response_file(responses)
kind = words.judges_kind(response_file)
store_path = stages.chapter_store(profile, store)
source = alexnet.open_source(store_path, layers)
glue("ch3_network", source.network, display=False)
experiment = chapter.paper_experiment()  # the paper's numbers, from paper_numbers.csv
table1_paper = paper.reported("Table 1")
paper_classes = paper_n_classes(paper.reported())

# %% [markdown]
# Everything the page shows is computed here: the measures of every unit of the chosen
# layers (cached; chapter 2 reads the same tables), the units drawn, both methods' AM
# images (cached), their checks, the experiment's lists, the answers and Table 1.

# %%
behind = stages.profile_network(profile)
network, image, device = behind.model, behind.image, am.default_device()
store_file = open_activations(store_path)
class_names = list(store_file.class_names)

measured = chapter.layer_measures(
    store_path, layers, cache_dir() / "measures", memory_gb, n_images=source.n_images
)
silent = detectors.leave_out_silent(measured, include_silent)
chosen = chapter.choose_units(store_file, layers, units, seed=seed, include_silent=include_silent)
classes = chapter.unit_classes(store_file, chosen)
bars = chapter.drawn_bars(measured, chosen)

pixel_config = chapter.am_config(images_per_unit, steps, seed, am_settings)
pixel = chapter.make_images(
    network, behind.model_id, chosen, pixel_config, image=image, device=device
)
made = chapter.make_generator_images(
    network, behind.model_id, chosen, generator, images_per_unit, seed, image=image, device=device
)
methods = chapter.by_method(pixel, made)
shown = with_people.experiment_images(am_method, pixel, made.made)
shown_method = "generator" if am_method == "generator" and made.ran else "pixel"
ratios = chapter.method_ratios(network, methods, classes, image=image, device=device)
own_class = chapter.own_class_by_method(network, methods, class_names, image=image, device=device)

design = behaviour.design_experiment(
    chosen, n_lists, chapter.participants(response_file, observers), seed=seed
)
answers, judges = chapter.gather_answers(
    response_file,
    observers,
    design,
    classes,
    shown,
    class_names,
    image=image,
    confidence=confidence,
    agreement=agreement,
    device=device,
)
seen_own_class = chapter.own_class_check(network, shown, class_names, image=image, device=device)
judged = chapter.judge_panels(
    answers, classes, class_names, synonyms, threshold, layers, kind=kind, own_class=seen_own_class
)
selective = chapter.named_and_selective(judged.units, bars)
selective_text = chapter.describe_named_and_selective(selective, judged.judges)

# %% tags=["remove-input"]
display(
    page.myst(
        words.summary_box(
            judged,
            table1_paper,
            experiment,
            network=source.network,
            n_classes=source.n_classes,
            paper_classes=paper_classes,
            method=shown_method,
            selective=selective_text,
        )
    )
)
if silent.n_silent:
    display(Markdown(chapter.silent_note(silent)))

# %% [markdown]
# ## The paper's experiment

# %% tags=["remove-input"]
display(Markdown(chapter.paper_method_text(experiment)))
display(Markdown(chapter.paper_sample_text(experiment)))
if network is None:
    display(Markdown(chapter.no_network_note(behind.description)))

# %% [markdown]
# ## Which units
#
# For each drawn unit, the two classes Table 1 compares the judges' answers with (the
# class of the unit's most active image and the CCMAS class) and the unit's largest
# activation over the recorded images:

# %% tags=["remove-input"]
display(classes)
display(csv_download(classes, "ch3-units"))

# %% [markdown]
# ## Making the images

# %% tags=["remove-input"]
display(page.myst(words.methods_text(pixel_config, made, am_method, image.channels)))

# %% [markdown]
# Every setting of the two methods (a dash where a method has no such setting):

# %% tags=["remove-input"]
settings = chapter.settings_table(pixel_config, made.config if made.ran else None)
display(settings)
display(csv_download(settings, "ch3-am-settings"))
generator_table = chapter.generator_table(made)
if generator_table is not None:
    display(Markdown("The generator behind the generator method:"))
    display(generator_table)
    display(csv_download(generator_table, "ch3-generator"))
    display(chapter.generator_samples(made, images_per_unit, seed=seed))

# %% [markdown]
# How long the images took, per method and layer (the images are cached, so a rebuild
# reads them back):

# %% tags=["remove-input"]
if methods:
    made_table = chapter.images_table(methods)
    display(made_table)
    display(csv_download(made_table, "ch3-images"))
    display(Markdown(chapter.timing_note(methods, device, threads)))

# %% [markdown]
# ## The panels of both methods, side by side
#
# One panel per unit, its images in the order they were made. For the first unit of each
# layer, the pixel-space panel and the generator panel:

# %% tags=["remove-input"]
side_by_side = with_people.methods_side_by_side(pixel, made.made) or chapter.first_panels(shown)
if side_by_side is not None:
    display(side_by_side)

# %% [markdown]
# ## Do the images drive their units?
#
# An AM image is only evidence about a unit if the unit responds to it strongly. The check
# below feeds the final 8-bit images back through the network and reads each unit the way
# the data set was recorded (after the ReLU; a convolutional channel by the largest value
# over its map), then divides by the unit's largest activation over all recorded test
# images. A ratio above 1 means the image drives the unit harder than any real photograph
# did.

# %% tags=["remove-input"]
if ratios is not None:
    check = chapter.ratio_summary(ratios)
    display(chapter.ratio_table(check))
    display(csv_download(check, "ch3-activation-ratio-summary"))
    display(csv_download(ratios, "ch3-activation-ratios", "Download each unit's ratios as CSV:"))
    display(plots.am_ratio_chart(ratios))
    display(Markdown(chapter.describe_ratios(check)))

# %% [markdown]
# For the output units there is a second check: the network itself should file each AM
# image of class $c$'s unit under class $c$. The share of each unit's images it does, per
# method:

# %% tags=["remove-input"]
if own_class is not None:
    display(own_class)
    display(csv_download(own_class, "ch3-own-class"))
    display(Markdown(chapter.describe_own_class(own_class)))

# %% [markdown]
# ## The experiment's design

# %% tags=["remove-input"]
display(Markdown(chapter.paper_design_text(experiment)))
paper_lists = behaviour.paper_design(seed=seed)
rebuilt = chapter.design_beside_paper(paper_lists, paper.reported(chapter.EXPERIMENT_SOURCE))
display(rebuilt)
display(csv_download(rebuilt, "ch3-paper-design"))
display(Markdown(words.lists_text(experiment)))
kinds = chapter.list_kinds(paper_lists)
display(kinds)
display(csv_download(kinds, "ch3-paper-lists"))
display(Markdown(words.design_text(design, experiment)))
composition = design.composition()
display(composition)
display(csv_download(composition, "ch3-lists"))

# %% [markdown]
# ## Who answered

# %% tags=["remove-input"]
display(Markdown(words.judges_intro(kind, source.n_classes, answered=answers is not None)))
if judges is not None:
    display(Markdown(chapter.observer_rule(confidence, agreement)))
    display(judges)
    display(csv_download(judges, "ch3-observers"))
display(Markdown(words.who_answered(answers, kind)))

# %% [markdown]
# The answers form one table with a row per judge and panel, the layout the experiment page
# downloads (described at the end of the page). Its first rows:

# %% tags=["remove-input"]
if answers is not None:
    display(answers.head(8))
    display(csv_download(answers, "ch3-answers"))

# %% [markdown]
# ## Table 1

# %% tags=["remove-input"]
display(Markdown(chapter.table1_columns_text(experiment)))
display(Markdown(words.synonyms_text(class_names, synonyms)))

# %% [markdown]
# The paper reports each number with a $\pm$ it does not define; here (a) carries the
# standard error over judges, (c) over units, and (b), (d), (e) the binomial standard error
# over units, which reproduces the paper's column (b) from its percentages.

# %% tags=["remove-input"]
table1 = chapter.table1_beside_paper(judged.table, table1_paper, judged.label, layers)
display(table1)
display(csv_download(table1, "ch3-table1"))

# %% [markdown]
# The counts behind it, per layer:

# %% tags=["remove-input"]
counts = judged.table[["participants", "responses", "units", "units_consistent"]]
display(counts)
display(csv_download(counts, "ch3-table1-counts"))

# %% [markdown]
# Every unit's verdict (share of yes answers, the majority label, and the two classes):

# %% tags=["remove-input"]
verdicts = judged.units[
    ["layer", "unit", "share_yes", "consistent", "consensus", "top_class", "ccmas_class"]
]
display(verdicts)
display(csv_download(verdicts, "ch3-unit-verdicts"))

# %% [markdown]
# ## Panels judged interpretable and not (the paper's Fig. 5)
#
# The paper's Fig. 5 shows panels that every participant called an object (top) and panels
# that nobody did (bottom). The same for this run's panels: units whose every judge said
# yes, then units no judge did, each captioned with the majority label, the class of the
# most active image and the CCMAS class.

# %% tags=["remove-input"]
display(*chapter.fig5_panels(judged.units, shown, examples))

# %% [markdown]
# The units of the paper's Fig. 5 (its caption's labels and classes) beside this run's
# panels above:

# %% tags=["remove-input"]
fig5 = chapter.fig5_beside_paper(judged.units, paper.reported(), examples)
display(fig5)
display(csv_download(fig5, "ch3-fig5-units"))

# %% [markdown]
# ## Interpretable and selective?
#
# The paper concluded from its Table 1 and the signal-detection measures that the
# interpretability of AM images does not imply a high level of selectivity. This run can
# check that unit by unit.

# %% tags=["remove-input"]
display(Markdown(words.bars_text()))
display(chapter.selective_table(selective))
display(csv_download(selective, "ch3-named-and-selective"))
if selective_text:
    display(Markdown(selective_text))

# %% [markdown]
# The same bars over every unit of the drawn layers, for scale:

# %% tags=["remove-input"]
counts_by_layer = detectors.detector_counts(measured, include_silent=include_silent)
display(counts_by_layer.rename(columns=detectors.COUNT_TITLES))
display(csv_download(counts_by_layer, "ch3-detector-counts"))
hidden = [layer for layer in layers if layer != chapter.OUTPUT_LAYER]
display(Markdown(detectors.describe_counts(counts_by_layer, source.network, hidden)))

# %% [markdown]
# ## What this run says

# %% tags=["remove-input"]
display(Markdown(chapter.describe_judgements(judged, table1_paper)))
notes = words.reading_notes(judged, classes, source.n_classes, paper_classes, selective_text)
if notes:
    display(Markdown("How to read these numbers:\n\n" + notes))

# %% [markdown]
# ## Running the experiment with people
#
# The {ref}`experiment page <experiment>` of this book shows the panels of the profile's
# `am_method` to a participant, one counterbalanced list at a time, and downloads the answers
# as a CSV with one row per participant and panel:
#
# | column | meaning |
# |---|---|
# | `participant` | the participant's code (any text) |
# | `list` | the list the participant saw (a whole number) |
# | `layer` | the unit's layer, e.g. `fc6` |
# | `unit` | the unit's index in that layer |
# | `yes` | the answer to "do these images have something in common?": `yes`/`no` (also `true`/`false`, `1`/`0`) |
# | `label` | what the images share, in the participant's words (empty after a no) |
#
# Put the files of a class together (one header line) and rebuild this page with them,
# `compendium run 03 -p responses answers.csv`; the units must be the ones this page draws,
# so keep the profile's `units` and `seed`. For a class of another size,
# `compendium experiment --profile default --lists 8 --out class-experiment` writes the same
# experiment dealt into 8 lists. In Python:
#
# ```python
# answers = behaviour.read_responses("answers.csv", classes)
# behaviour.table1(answers, classes, behaviour.Synonyms.from_csv())
# ```
#
# A file with missing columns, answers other than yes/no, or panels of units this page did
# not draw is refused with a message naming the problem.

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(
    exercises.block(
        words.exercises(
            experiment, judged, answers, classes, class_names, synonyms, own_class, selective
        )
    )
)

# %% [markdown]
# (ch-am-rerun)=
# ## Rerunning this chapter
#
# Each parameter at the top of the page can be changed without touching the code. The
# command below draws more hidden units and shows the judges the pixel-space panels instead
# of the generator's (the images, the generator and the observers are cached, so only what
# changes is computed). `-p responses answers.csv` computes Table 1 from people's answers,
# `-p responses example` from the shipped scripted file.

# %% tags=["remove-input"]
from compendium.build import recipes  # here: it loads the build layer, after the banner

display(recipes.rerun_recipe("03_activation_maximisation", words.rerun_example()))

# %% tags=["remove-cell"]
store_file.close()
