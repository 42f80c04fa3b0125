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
# # Activation maximisation and what observers see in it
#
# A popular way to ask what a unit has learned is to let the network draw it: start from
# noise and change the image, step by step, in whatever direction raises the unit's
# activation. If the pictures that come out look like one kind of object, the unit is read
# as a detector for it. Section 3.2 of {cite:t}`gale2020` put that reading to a test.

# %% tags=["remove-input"]
from IPython.display import Markdown

from compendium.chapters import activation_maximisation as chapter

experiment = chapter.paper_experiment()  # the paper's numbers, from paper_numbers.csv
Markdown(chapter.paper_method_text(experiment))

# %% [markdown]
# This chapter rebuilds that study on the profile's network: it makes the AM images,
# checks that they really drive their units, lays out the experiment as the paper ran it,
# and computes Table 1 from a table of responses. Those responses come from people when a
# response file is given; otherwise from **model observers**, independently trained
# networks that stand in for people (more on that below).

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file; None: the profile's recording
layers = ["conv5", "fc6", "fc8"]  # the paper's three layers
units = {"conv5": 4, "fc6": 6, "fc8": 10}  # per layer: how many to draw at random, or a list
images_per_unit = 100  # AM images per unit, shown as one square panel (as in the paper)
steps = 48  # optimisation steps per image
am_settings = {}  # further compendium.methods.am.AMConfig settings, e.g. {"lr": 0.1}
observers = [  # model observers (compendium.methods.observers.ObserverSpec), one per participant
    {"name": "mlp-256", "arch": "mlp", "width": 256, "seed": 1},
]
n_lists = 1  # counterbalanced lists the panels are dealt into
confidence = 0.8  # an observer counts an image only if it gives its class this probability
agreement = 0.5  # ... and says yes when that many of a panel's images share one class
threshold = 0.8  # share of yes answers that makes a unit consistently interpretable
responses = None  # CSV of human responses (see the end of the page); None: model observers
synonyms = None  # CSV of phrase,group rows for matching labels; None: the shipped table
examples = 3  # panels shown in each half of the Fig. 5 counterpart
seed = 0  # seed of the unit sample, the lists and the AM images
threads = 1  # CPU threads for torch

# %% tags=["remove-input"]
import torch
from IPython.display import Markdown, display

from compendium.activations.reader import open_activations  # noqa: E402
from compendium.build import stages as prep  # noqa: E402
from compendium.chapters import page, paper, plots
from compendium.methods import (
    am,  # noqa: E402
    behaviour,
)

torch.set_num_threads(threads)
page.setup(
    profile,
    {
        "layers": layers,
        "units": units,
        "images_per_unit": images_per_unit,
        "steps": steps,
        "am_settings": am_settings,
        "observers": [o["name"] for o in observers],
        "n_lists": n_lists,
        "confidence": confidence,
        "agreement": agreement,
        "threshold": threshold,
        "responses": responses,
        "seed": seed,
    },
    precision=2,
)

# %% tags=["remove-input"]
behind = prep.profile_network(profile)
network, image = behind.model, behind.image
store_file = open_activations(prep.chapter_store(profile, store))
class_names = list(store_file.class_names)
config = chapter.am_config(images_per_unit, steps, seed, am_settings)
device = am.default_device()
Markdown(chapter.no_network_note(behind.description)) if network is None else None

# %% [markdown]
# ## Which units

# %% tags=["remove-input"]
Markdown(chapter.paper_sample_text(experiment))

# %%
chosen = chapter.choose_units(store_file, layers, units, seed=seed)
classes = chapter.unit_classes(store_file, chosen)
classes

# %% [markdown]
# ## Making the images
#
# The paper used the plug-and-play generative network of {cite:t}`nguyen2017`, which
# searches the input space of a trained image generator so that its pictures look natural.
# There is no such generator for a 28 x 28 clothing network, so `compendium.methods.am` follows the
# other common route {cite:p}`olah2017`: it changes the pixels themselves, under three
# constraints that keep the result from turning into high-frequency noise that only this
# network responds to.
#
# - The image is stored as its Fourier coefficients, scaled down at high frequencies, so
#   that each optimisation step changes coarse shapes more than fine texture. (For colour
#   images the channels are mixed from a brightness axis and two weaker colour-opponent
#   axes.) Zero coefficients give a plain image at the data set's mean grey level.
# - Each step shows the network the images shifted, zoomed and rotated by small random
#   amounts, so a pattern only counts if it survives being moved. The moves shrink to
#   nothing over the run, so the last steps polish the exact image that is kept.
# - A unit's images are pushed apart by a penalty on how similar they are to each
#   other, so that a panel shows several ways of driving the unit rather than one picture
#   many times over.
#
# What is maximised is the unit's value *before* its ReLU (after the ReLU a silent unit has
# no gradient); a conv5 channel is read at the centre of its map; an fc8 unit is the
# class score before the softmax. All units of a layer are optimised together in batches.
# Every random draw is seeded by the seed, the layer and the unit, so a unit gets the same
# images whatever else is computed with it. The images are cached on disk.

# %%
chapter.settings_table(config)

# %%
made = chapter.make_images(network, behind.model_id, chosen, config, image=image, device=device)
chapter.images_table(made)

# %% tags=["remove-input"]
timing = chapter.timing_note(made, device, threads)
Markdown(timing) if timing else None

# %% [markdown]
# ## Do the images drive their units?
#
# An AM image is only evidence about a unit if the unit responds to it strongly. The check
# below feeds the final 8-bit images back through the network and reads each unit the way
# the data set was recorded (after the ReLU; conv5 by the largest value over its map), then
# divides by the unit's largest activation over all recorded test images. A ratio above 1
# means the image drives the unit harder than any real photograph did.

# %%
ratios = chapter.image_ratios(network, made, classes, image=image, device=device)
check = chapter.ratio_summary(ratios)
check

# %%
plots.am_ratio_chart(ratios) if made else None

# %% [markdown]
# For the output units there is a second check: the network itself should file each AM
# image of class $c$'s unit under class $c$.

# %%
own_class = chapter.own_class_check(network, made, class_names, image=image, device=device)
own_class

# %% tags=["remove-input"]
driven = chapter.describe_ratios(check)
Markdown(driven) if driven else None

# %% [markdown]
# ## The panels
#
# One panel per unit, its images in the order they were made. The first unit of each layer:

# %%
chapter.first_panels(made)

# %% [markdown]
# ## The experiment's design

# %% tags=["remove-input"]
Markdown(chapter.paper_design_text(experiment))

# %%
paper_lists = behaviour.paper_design(seed=seed)
chapter.design_beside_paper(paper_lists, paper.reported(chapter.EXPERIMENT_SOURCE))

# %% [markdown]
# How many panels of each layer the 64 lists hold (rows: kinds of list; count: how many
# lists are of that kind):

# %%
chapter.list_kinds(paper_lists)

# %% [markdown]
# This page's experiment is far smaller. Its panels are dealt into the lists set by the
# profile, and each participant sees the panels of one list in an order of its own:

# %%
people = chapter.participants(responses, observers)
design = behaviour.design_experiment(chosen, n_lists, people, seed=seed)
design.composition()

# %% [markdown]
# ## The observers
#
# No one has looked at these panels, so unless a response file is given this page asks
# machines. Each **model observer** is a classifier of the same photographs, trained
# independently of the network whose units made the images: some share its design with
# another seed and less training, others have a different design altogether (a
# multi-layer perceptron, a small LeNet-style network).

# %% tags=["remove-input"]
Markdown(chapter.observer_rule(confidence, agreement))

# %% [markdown]
# **These observers are not people.** A network cannot name anything outside its ten
# classes, is often confident about pictures a person would call noise, and may share
# blind spots with the network that made the images. The numbers below test the analysis
# code and show what machine judges make of the panels; they are not a replication of the
# human experiment, whose numbers appear beside them for reference.

# %%
answers, about = chapter.gather_answers(
    responses,
    observers,
    design,
    classes,
    made,
    class_names,
    image=image,
    confidence=confidence,
    agreement=agreement,
    device=device,
)
about

# %% [markdown]
# The responses form one table with a row per participant and panel, the same layout a
# human experiment produces (described at the end of the page). Its first rows:

# %%
answers.head(8) if answers is not None else None

# %% [markdown]
# ## Table 1

# %% tags=["remove-input"]
Markdown(chapter.table1_columns_text(experiment))

# %% [markdown]
# Labels are matched through a table of rough synonyms, in the spirit of the paper, which
# counted 'beer', 'glass' and 'drink' as one answer that matched the ImageNet classes
# 'wine glass' and 'beer'. The table shipped for Fashion-MNIST
# (`compendium/data/synonyms_fashion_mnist.csv`) puts, for example, 'trainers' and 'running
# shoe' with Sneaker and lets 'shoe' agree with Sandal, Sneaker and Ankle boot. The paper
# reports each number with a $\pm$ it does not define; here (a) carries the standard error
# over participants, (c) over units, and (b), (d), (e) the binomial standard error over
# units, which reproduces the paper's column (b) exactly from its percentages.

# %%
judged = chapter.judge_panels(
    answers,
    classes,
    class_names,
    synonyms,
    threshold,
    layers,
    people=bool(responses),
    own_class=own_class,
)
chapter.table1_beside_paper(
    judged.table, paper.reported("Table 1"), f"this run ({judged.judges})", layers
)

# %%
judged.table[["participants", "responses", "units", "units_consistent"]]

# %% [markdown]
# Every unit's verdict (share of yes answers, the majority label, and the two classes):

# %%
judged.units[["layer", "unit", "share_yes", "consistent", "consensus", "top_class", "ccmas_class"]]

# %% [markdown]
# ## Panels judged interpretable and not (the paper's Fig. 5)
#
# The paper's Fig. 5 shows panels that every participant called an object (top) and panels
# that nobody did (bottom). The same for this run: units whose every judge said yes, then
# units no judge did, each captioned with the majority label, the class of the most active
# image and the CCMAS class.

# %%
display(*chapter.fig5_panels(judged.units, made, examples))

# %% [markdown]
# ## What this run says


# %% tags=["remove-input"]
display(Markdown(chapter.describe_judgements(judged, paper.reported("Table 1"))))

# %% [markdown]
# How to read these numbers:
#
# - **The pattern, not the values, is what carries over.** The paper's finding is that AM
#   images of output units are mostly recognisable and name the right class, while those
#   of hidden units mostly are not, and when they are, the name often differs from the class
#   the unit's most active photograph or its CCMAS pick. Whether this small network shows the
#   same split is what the tables above test; with a handful of units per layer and a
#   handful of judges, single percentages move a lot from one sample to the next (the
#   standard errors say how much).
# - **Model observers are lenient in one way and strict in another.** They answer yes
#   whenever half a panel lands confidently in one class, even for pictures a person would
#   call texture, which can make hidden units look more interpretable than people would
#   find them. But they can only name one of ten garments, so their labels agree with each
#   other and with the classes far more readily than free-text human answers could.
# - **A ten-class network is not AlexNet.** With only ten classes, and three of them
#   footwear, a hidden unit of the small network often answers mainly to one or two
#   classes (compare the most-active and CCMAS classes in the first table, which often
#   coincide, unlike the paper's), so its AM images can carry a recognisable class shape
#   more often than a unit among AlexNet's thousands.
# - **Interpretable is not selective.** A unit whose panel everybody names can still fire for
#   many classes; the measures of the previous chapters, not the pictures, say how
#   selective a unit is. The paper draws the same conclusion: that people read a unit's
#   images as an object did not make the unit selective by the signal-detection
#   measures.

# %% [markdown]
# ## Using human responses
#
# To run the real experiment on these panels, export each unit's panel
# (`behaviour.panel_grid` and `behaviour.png_bytes`), give each participant the panels of
# their list in the order `design.trials()` lists, and collect one CSV row per participant
# and panel with these columns:
#
# | column | meaning |
# |---|---|
# | `participant` | the participant's id (any text) |
# | `list` | the list the participant saw (a whole number) |
# | `layer` | the unit's layer, e.g. `fc6` |
# | `unit` | the unit's index in that layer |
# | `yes` | the answer to "do the images share an object?": `yes`/`no` (also `true`/`false`, `1`/`0`) |
# | `label` | what the object is, in the participant's words (empty after a no) |
#
# Then rebuild this page with the file, e.g. `-p responses answers.csv` with papermill (the
# units must be the ones this page draws, so keep the same `units` and `seed`), or in
# Python:
#
# ```python
# answers = behaviour.read_responses("answers.csv", classes)
# behaviour.table1(answers, classes, behaviour.Synonyms.from_csv())
# ```
#
# A file with missing columns, answers other than yes/no, or panels of units this page did
# not draw is refused with a message naming the problem. This run's own responses can be
# written out the same way to serve as a template: `answers.to_csv("answers.csv", index=False)`.

# %% tags=["remove-cell"]
store_file.close()
