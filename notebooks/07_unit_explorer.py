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
# (ch-explorer)=
# # Unit explorer
#
# The chapters show the few units their profile picked. This page lets a reader look at
# any unit of the three layers of {ref}`ch-alexnet` (conv5, fc6 and fc7) with no Python
# running: everything below is one chart that draws itself in the browser, from data the
# page carries, and works from a copy of the book on a laptop or a projector without a
# network.
#
# **How to use it.** Under the chart:
#
# - **unit** picks a unit from the list. Its first three entries are shortcuts: the unit
#   with the highest top-60 precision (the kind of unit that would be called an object
#   detector), the unit with the highest maximum informedness, and a unit drawn at
#   random (pick another entry and then this one again to draw a new one). Or type a
#   unit's name, such as `fc6.12`, into the box; clear the box to go back to the list.
# - **class** chooses the class $A$ that the numbers are about. By default it is the
#   unit's own class, the class that holds most of its top 60 images.
# - **threshold level** moves the threshold $t$ (drag it, or click it and use the arrow
#   keys). The numbers under the jitterplot follow it: the hit rate $TP/N_A$, the
#   false alarms in the paper's sense $FP/(TP+FP)$ and in the textbook's $FP/N_{\neg A}$,
#   precision and informedness, as defined in {ref}`ch-measures`.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
store = None  # activation file; None: the profile's recording (as chapter 2)
layers = ["conv5", "fc6", "fc7"]  # the layers of chapter 2's Fig. 3
units = None  # None: every unit; "START:STOP" for every layer; or {layer: "START:STOP"}
top_n = [60, 100]  # the top-N sizes of chapter 2 (its cached measures are reused)
levels = 64  # thresholds per unit: levels + 1, evenly spaced up to its largest activation
top_images = 6  # most active images shown per unit
max_points = 10000  # most dots in a unit's jitterplot (beyond: a dot per k images)
max_classes = 50  # each class's own best threshold is computed for up to this many classes
memory_gb = 0.5  # working memory for reading the activation file

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.build import stages
from compendium.chapters import alexnet, exercises, explorer, page
from compendium.measures import tables
from compendium.util.cache import cache_dir

page.setup(
    profile,
    {
        "store": store,
        "layers": layers,
        "units": units,
        "top_n": top_n,
        "levels": levels,
        "top_images": top_images,
        "max_points": max_points,
        "max_classes": max_classes,
        "memory_gb": memory_gb,
    },
)

top = alexnet.TopN.from_parameter(top_n)
source = alexnet.open_source(stages.chapter_store(profile, store), layers, units)
options = alexnet.measure_options(top, memory_gb)
table = tables.measure_selection(
    source.path, source.selection, cache_dir=cache_dir() / "measures", **options
)
data = explorer.explorer_data(
    source.path,
    source.selection,
    table,
    levels=levels,
    top_images=top_images,
    top_n=top.sizes,
    images=explorer.dataset_images(source.attrs),
    max_points=max_points,
    max_classes=max_classes,
    memory_bytes=options["memory_bytes"],
)
chart = explorer.explorer_chart(data)

# %% [markdown]
# ## What the page holds

# %% tags=["remove-input"]
display(Markdown(explorer.describe_explorer(data)))
display(Markdown(explorer.describe_weight(chart)))

# %% [markdown]
# ## The explorer

# %% tags=["remove-input"]
chart

# %% [markdown]
# ## Things to look at
#
# - Start with the most precise unit. Its top images all belong to one class, the test
#   of {cite:t}`zhou2015`. Now look at the jitterplot: where do the other images of that
#   class lie, and how far down must the threshold go before the hit rate passes one half?
#   What happens to the false alarms on the way?
# - Switch to the unit with the best maximum informedness and compare the two jitterplots.
#   Which of the two would you rather call a detector of its class, and which of the
#   measures below the top images agree with you?
# - Pick a class that is not the unit's own. Where does the best threshold for it (the
#   green rule) lie now, and how large is the informedness there? Can a unit be
#   informative about one class and say little about the others?

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
found_exercises = explorer.exercises(table, source.class_names, top.sizes[0])
if found_exercises:
    display(exercises.block(found_exercises))
