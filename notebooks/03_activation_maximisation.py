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
# as a detector for it. Section 3.2 of {cite:t}`gale2020` put that reading to a test. They
# made 100 such activation-maximisation (AM) images for units of AlexNet's conv5, fc6 and
# fc8 layers, showed each unit's images as one 10 x 10 panel, and asked people whether the
# images in a panel had an object in common and, if so, which. Their Table 1 reports how
# often people said yes, how often they agreed with each other, and whether their answers
# matched the class that the unit's other selectivity measures single out.
#
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
images_per_unit = 100  # AM images per unit (the paper: 100, shown as a 10 x 10 panel)
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
import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import torch
from IPython.display import HTML, Markdown, display

# tqdm would warn that notebook progress widgets are missing; plain bars are fine.
warnings.filterwarnings("ignore", message="IProgress not found")

from compendium.activations.store import open_activations  # noqa: E402
from compendium.build import stages as prep  # noqa: E402
from compendium.chapters import paper, plots, report
from compendium.methods import (
    am,  # noqa: E402
    behaviour,
)
from compendium.methods import observers as obs

pd.set_option("display.precision", 2)
torch.set_num_threads(threads)
display(
    report.profile_banner(
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
    )
)

behind = prep.profile_network(profile)
network, image = behind.model, behind.image
store_file = open_activations(prep.chapter_store(profile, store))
class_names = list(store_file.class_names)
config = am.AMConfig.from_dict(
    {"images_per_unit": images_per_unit, "steps": steps, "seed": seed, **am_settings}
)
device = am.default_device()
if network is None:
    display(
        Markdown(
            f"**This profile has {behind.description}.** No AM images can be made, so the "
            "sections that make and judge them are left empty; the design and, given a "
            "response file (`responses`), Table 1 are computed as usual."
        )
    )

# %% [markdown]
# ## Which units
#
# The paper made panels for all 256 conv5 units, a random half of fc6's 4,096 units and
# 995 of the 1,000 output units. Making 100 AM images costs many forward and backward
# passes per unit, so this page draws a small random sample from each layer of the
# profile's network (seeded; units that no image activates are left out of the draw,
# because they have no most active image and no CCMAS class to compare with). For each
# unit the table gives the two classes Table 1 compares people's answers with: the class
# of the unit's most active image and the class with the highest mean activation (the
# CCMAS class), plus the unit's largest activation over the recorded images.

# %%
chosen = {}
for layer in layers:
    if isinstance(units[layer], int):
        maxima = behaviour.unit_maxima(store_file, layer)
    else:  # a list of units is taken as it is
        maxima = np.ones(store_file.n_units(layer))
    chosen[layer] = behaviour.sample_units(maxima, units[layer], seed=seed, layer=layer)
classes = pd.concat(
    [behaviour.unit_classes(store_file, layer, chosen[layer]) for layer in layers],
    ignore_index=True,
)
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
settings = pd.Series(config.to_dict(), name="value")
settings.rename_axis("AM setting").to_frame()

# %%
made = {}
for layer in layers if network is not None else []:
    made[layer] = am.am_images(
        network,
        behind.model_id,
        layer,
        chosen[layer],
        config,
        image=image,
        device=device,
        progress=False,
    )
pd.DataFrame(
    {
        "units": {layer: len(r.units) for layer, r in made.items()},
        "s per unit": {layer: r.seconds.mean() for layer, r in made.items()},
        "from cache": {layer: r.from_cache.all() for layer, r in made.items()},
    }
).rename_axis("layer")

# %% tags=["remove-input"]
if made:
    per_unit = float(np.mean(np.concatenate([r.seconds for r in made.values()])))
    display(
        Markdown(
            f"On the machine that first built this page (device `{device}`, {threads} "
            f"thread(s)), one unit's {config.images_per_unit} images took {per_unit:.1f} s "
            f"on average ({config.steps} steps). The benchmark `bench/am.py` times the same "
            "code for torchvision's AlexNet at 224 x 224 on a GPU."
        )
    )

# %% [markdown]
# ## Do the images drive their units?
#
# An AM image is only evidence about a unit if the unit responds to it strongly. The check
# below feeds the final 8-bit images back through the network and reads each unit the way
# the data set was recorded (after the ReLU; conv5 by the largest value over its map), then
# divides by the unit's largest activation over all recorded test images. A ratio above 1
# means the image drives the unit harder than any real photograph did.

# %%
maxima = classes.set_index(["layer", "unit"])["dataset_max"].to_dict()
ratios = check = None
if made:
    ratios = am.activation_ratios(network, list(made.values()), maxima, image=image, device=device)
    check = ratios.groupby("layer", sort=False).agg(
        units=("unit", "size"),
        median_ratio=("ratio", "median"),
        min_ratio=("ratio", "min"),
        share_of_images_above_max=("share above max", "mean"),
    )
check

# %%
plots.am_ratio_chart(ratios) if made else None

# %% [markdown]
# For the output units there is a second check: the network itself should file each AM
# image of class $c$'s unit under class $c$.

# %%
if "fc8" in made:
    own_class = am.own_class_share(network, made["fc8"], class_names, image=image, device=device)
    display(own_class)

# %% tags=["remove-input"]
if made:
    lines = [
        f"{layer}: median ratio {row.median_ratio:.2f} (lowest "
        f"{row.min_ratio:.2f}), {row.share_of_images_above_max:.0%} of the images "
        "above the data set's maximum"
        for layer, row in check.iterrows()
    ]
    display(Markdown("**This run:** " + "; ".join(lines) + "."))

# %% [markdown]
# ## The panels
#
# One panel per unit, its images in the order they were made. The first unit of each layer:


# %%
def panel(layer: str, unit: int) -> np.ndarray:
    images = made[layer].unit(unit)
    columns = int(np.ceil(np.sqrt(len(images))))
    return behaviour.panel_grid(images, columns=columns, zoom=1)


first = [(layer, int(made[layer].units[0])) for layer in made]
shown = [(panel(layer, unit), f"{layer} unit {unit}") for layer, unit in first]
display(HTML(behaviour.panels_html(shown, width=320))) if made else None

# %% [markdown]
# ## The experiment's design
#
# In the paper, 3,299 panels (all 256 conv5 units, 2,048 fc6 units and 995 fc8 units)
# were split into 64 counterbalanced lists; each list held 4 conv5, 15 or 16 fc8 and 32 fc6
# panels, and each was seen by 5 or 6 people (51 lists by 5, 13 by 6). Every panel was
# therefore judged by 5 or 6 people, and nobody saw more than 52 panels.
# `compendium.methods.behaviour.design_experiment` deals panels into lists layer by layer, carrying
# on round the lists from one layer to the next, so each list gets as even a share of each
# layer as the numbers allow; participants are dealt onto lists the same way. Given the
# paper's numbers it rebuilds the paper's lists:

# %%
paper_lists = behaviour.paper_design(seed=seed)
shape = behaviour.design_summary(paper_lists)
stated = paper.reported("Sec. 2 behavioural experiment")
stated = stated[stated["layer"].isna()].set_index("measure")["value"]
pd.DataFrame({"this design": shape, "paper": stated.reindex(shape.index).astype(int)})

# %% [markdown]
# How many panels of each layer the 64 lists hold (rows: kinds of list; count: how many
# lists are of that kind):

# %%
paper_lists.composition().value_counts().rename("lists").reset_index()

# %% [markdown]
# This page's experiment is far smaller. Its panels are dealt into the lists set by the
# profile, and each participant sees the panels of one list in an order of its own:

# %%
if responses:
    given = pd.read_csv(responses)["participant"].astype(str)
    participants = given.unique().tolist()
else:  # the observers, or five stand-ins when there is no one to ask
    participants = [o["name"] for o in observers] or 5
design = behaviour.design_experiment(chosen, n_lists, participants, seed=seed)
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
display(
    Markdown(
        f"An observer looks at every image of a panel and says **yes** when at least "
        f"{agreement:.0%} of them fall in one class, each with probability {confidence:.2f} or "
        f"more; its label is that class's name."
    )
)

# %% [markdown]
# **These observers are not people.** A network cannot name anything outside its ten
# classes, is often confident about pictures a person would call noise, and may share
# blind spots with the network that made the images. The numbers below test the analysis
# code and show what machine judges make of the panels; they are not a replication of the
# human experiment, whose numbers appear beside them for reference.

# %%
answers = None
if responses:
    answers = behaviour.read_responses(responses, classes)
    people = answers["participant"].nunique()
    display(Markdown(f"Read `{responses}`: {len(answers)} responses from {people} participants."))
elif made:
    with contextlib.redirect_stderr(io.StringIO()):  # hide progress bars
        judges = obs.trained_observers(observers)
    display(obs.describe(judges))
    panels = {
        (layer, int(u)): made[layer].unit(int(u)) for layer in layers for u in made[layer].units
    }
    answers = obs.observer_responses(
        design,
        judges,
        panels,
        class_names,
        image=image,
        confidence=confidence,
        agreement=agreement,
        device=device,
    )

# %% [markdown]
# The responses form one table with a row per participant and panel, the same layout a
# human experiment produces (described at the end of the page). Its first rows:

# %%
answers.head(8) if answers is not None else None

# %% [markdown]
# ## Table 1
#
# The analysis follows the paper's columns:
#
# - **(a)** the share of all answers that were yes, per layer;
# - **(b)** the share of units that at least a share `threshold` of their judges called
#   interpretable (0.8 in the paper and by default);
# - for those units only, **(c)** how far the judges' labels agree with each other: the
#   share of a unit's labels that fall in the group most of its labels name, averaged over
#   units; and whether that majority answer matches **(d)** the class of the unit's most
#   active image and **(e)** its CCMAS class.
#
# Labels are matched through a table of rough synonyms, in the spirit of the paper, which
# counted 'beer', 'glass' and 'drink' as one answer that matched the ImageNet classes
# 'wine glass' and 'beer'. The table shipped for Fashion-MNIST
# (`compendium/data/synonyms_fashion_mnist.csv`) puts, for example, 'trainers' and 'running
# shoe' with Sneaker and lets 'shoe' agree with Sandal, Sneaker and Ankle boot. The paper
# reports each number with a $\pm$ it does not define; here (a) carries the standard error
# over participants, (c) over units, and (b), (d), (e) the binomial standard error over
# units, which reproduces the paper's column (b) exactly from its percentages.

# %%
matcher = behaviour.default_synonyms(class_names, synonyms)
judged, table = behaviour.analyse(answers, classes, matcher, threshold, layers)
judge_kind = "people" if responses else "model observers"
behaviour.beside_paper(table, paper.reported("Table 1"), f"this run ({judge_kind})", layers)

# %%
table[["participants", "responses", "units", "units_consistent"]]

# %% [markdown]
# Every unit's verdict (share of yes answers, the majority label, and the two classes):

# %%
judged[["layer", "unit", "share_yes", "consistent", "consensus", "top_class", "ccmas_class"]]

# %% [markdown]
# ## Panels judged interpretable and not (the paper's Fig. 5)
#
# The paper's Fig. 5 shows panels that every participant called an object (top) and panels
# that nobody did (bottom). The same for this run: units whose every judge said yes, then
# units no judge did, each captioned with the majority label, the class of the most active
# image and the CCMAS class.


# %%
def show(rows: pd.DataFrame, heading: str) -> None:
    """Captioned panels under a heading (or a note that there are none)."""
    if rows.empty:
        display(Markdown(f"*{heading}: no unit in this run.*"))
        return
    display(Markdown(f"**{heading}**"))
    shown = [(panel(r["layer"], int(r["unit"])), behaviour.caption(r)) for _, r in rows.iterrows()]
    display(HTML(behaviour.panels_html(shown, width=320)))


named, unnamed = behaviour.fig5_examples(judged, examples)
if made:
    show(named, "Judged to show an object by every judge")
    show(unnamed, "Judged to show no object by any judge")

# %% [markdown]
# ## What this run says


# %% tags=["remove-input"]
def pct(layer: str, column: str) -> str:
    value = table.loc[layer, column] if layer in table.index else np.nan
    return "–" if pd.isna(value) else f"{value:.0f}%"


hidden = [layer for layer in layers if layer != "fc8"]
summary = [
    f"With {judge_kind} as judges, the output layer's panels drew yes in "
    f"{pct('fc8', 'yes')} of answers and {pct('fc8', 'units_80')} of its units were "
    f"consistently interpretable (the paper's people: 71% and 59%)."
    if "fc8" in table.index
    else "",
    "In the hidden layers: "
    + "; ".join(
        f"{layer} {pct(layer, 'yes')} yes, {pct(layer, 'units_80')} of units consistent"
        for layer in hidden
        if layer in table.index
    )
    + " (the paper: about 21% yes and 3 to 4% of units in conv5 and fc6)."
    if any(layer in table.index for layer in hidden)
    else "",
    f"Where the output units' panels were named consistently, the name matched the unit's "
    f"own class in {pct('fc8', 'overlap_top_class')} of cases (the paper: 95%)."
    if "fc8" in table.index and table.loc["fc8", "units_consistent"] > 0
    else "",
]
hidden_yes = [table.loc[layer, "yes"] for layer in hidden if layer in table.index]
if "fc8" in table.index and hidden_yes:
    direction = "more" if max(hidden_yes) > table.loc["fc8", "yes"] else "fewer"
    summary.append(
        f"So here at least one hidden layer drew {direction} yes answers than the output layer; "
        + (
            "in the paper the output layer drew far more, so on this point the run and the "
            "paper differ."
            if direction == "more"
            else "the paper found the same ordering."
        )
    )
if "fc8" in made and "fc8" in table.index:
    share = own_class.set_index("unit")["share classified as the unit's class"]
    yes = judged[judged["layer"] == "fc8"].set_index("unit")["share_yes"]
    convinced = [u for u in share.index if share[u] >= 0.9 and yes.get(u, 1) == 0]
    if convinced:
        names = ", ".join(class_names[u] for u in convinced)
        summary.append(
            f"The network that made the images filed at least 90% of them under their "
            f"unit's class for {len(convinced)} output unit(s) ({names}) that no "
            f"{'participant' if responses else 'observer'} called an object at all: "
            "images that convince their own network need not look like anything to "
            "another viewer."
        )
display(Markdown(" ".join(s for s in summary if s)))

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
