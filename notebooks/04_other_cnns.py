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
# (ch-other-cnns)=
# # Network Dissection's detectors in {glue:text}`ch4_networks`
#
# Network Dissection {cite:p}`bau2017,zhou2019dissection` names a unit after the concept
# whose segmentation masks its strongest activations overlap best, and calls it a detector
# of that concept when the overlap is large enough. Section 3.3 and Appendix D of
# {cite:t}`gale2020` take the units it called *bus* detectors in three networks (VGG-16
# and GoogLeNet trained on the scenes of Places-365, GoogLeNet trained on ImageNet) and
# look at them with the measures of {ref}`ch-measures`. 'Bus' was chosen because it maps
# onto exactly three ImageNet classes (school bus, trolleybus, minibus), so the images of
# the concept can be picked out by their labels.
#
# The paper copied the unit lists from the Network Dissection website. This chapter runs
# Network Dissection itself, on networks trained here, so that both verdicts, the
# dissection's and the measures', concern the same units, the same images and the same
# code. On Fashion-MNIST a super-category of three classes plays the part of 'bus' (the
# banner below names it), and the verdict on each nominated unit comes from the paper's
# own three bars for a detector (see {ref}`ch-discussion`).

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page (set by the pipeline)
data = "fashion-mnist"  # "fashion-mnist" (networks trained here) or "imagenet" (torchvision)
nets = [  # fashion-mnist: name, arch, task (classes|coarse), layer [, epochs, model]
    {
        "name": "AlexNet (classes)",
        "arch": "small-alexnet",
        "task": "classes",
        "layer": "conv5",
        "epochs": 5,
    },
    {"name": "VGG (coarse)", "arch": "small-vgg", "task": "coarse", "layer": "conv3_3"},
    {
        "name": "GoogLeNet (coarse)",
        "arch": "small-googlenet",
        "task": "coarse",
        "layer": "inception4b",
    },
    {
        "name": "GoogLeNet (classes)",
        "arch": "small-googlenet",
        "task": "classes",
        "layer": "inception4b",
    },
]
super_category = "footwear"  # the concept that plays 'bus'
super_category_classes = None  # None: compendium.inputs.categories; imagenet: its WordNet ids
quantile = 0.005  # share of each unit's map values above its threshold (Network Dissection's)
iou_threshold = 0.04  # IoU above which a unit detects its best concept (Network Dissection's)
published_quantile = 0.005  # the first network is also dissected with this quantile
nominate_rule = "label"  # "label": best concept is the super-category; "iou": IoU only
epochs = 2  # training epochs of the networks that do not set their own
n_train = None  # None: all 60,000 training images
n_images = None  # test images to dissect and measure; None: all 10,000
top_n = 100  # the N of the top-N precision (the N of the paper's Tables A3-A5)
max_points = None  # about this many points per jitterplot, each class in its share; None: all
include_silent = False  # True: count the units that give every image one activation
threads = 2  # CPU threads for training and dissection
seed = 0  # seed of the training and of the jitter
image_folder = None  # imagenet: the ILSVRC-2012 folder, one sub-folder per WordNet id
synsets = None  # imagenet: 'wnid name' lines; None: ImageNet-1k's order
max_per_class = 100  # imagenet: the first images of each class (Appendix D's number)

# %% tags=["remove-input", "remove-stderr"]
from IPython.display import display
from myst_nb import glue

from compendium.build.profiles import expand  # ${NAME} in a profile: an environment variable
from compendium.chapters import dissection_page, other_cnns, page, paper
from compendium.chapters.other_cnns import Settings

settings = Settings.from_parameters(
    data=data,
    super_category=super_category,
    super_category_classes=super_category_classes,
    quantile=quantile,
    iou_threshold=iou_threshold,
    published_quantile=published_quantile,
    nominate_rule=nominate_rule,
    epochs=epochs,
    n_train=n_train,
    n_images=n_images,
    top_n=top_n,
    max_points=max_points,
    threads=threads,
    seed=seed,
    image_folder=expand(image_folder, profile),
    synsets=synsets,
    max_per_class=max_per_class,
)
page.setup(
    profile,
    {
        "data": data,
        "nets": [n["name"] for n in nets],
        "layers": [n["layer"] for n in nets],
        "super_category": super_category,
        "quantile": quantile,
        "iou_threshold": iou_threshold,
        "published_quantile": published_quantile,
        "nominate_rule": nominate_rule,
        "epochs": epochs,
        "n_train": n_train,
        "n_images": n_images,
        "top_n": top_n,
        "max_points": max_points,
        "include_silent": include_silent,
        "seed": seed,
    },
    run=dissection_page.run_description(settings, nets),
    max_columns=30,
)
glue("ch4_networks", dissection_page.network_title(settings, nets), display=False)
reported = paper.reported()
run = other_cnns.run_networks(settings, expand(nets, profile))

# %% tags=["remove-input"]
display(dissection_page.summary_box(run, reported, profile, include_silent))

# %% [markdown]
# ## Network Dissection in five steps
#
# The compendium's `compendium.methods.dissect` does what {cite:t}`bau2017` describe, for one
# convolutional layer at a time:
#
# 1. **Maps.** Every image goes through the network; each unit gives a map of activations
#    over the positions of the layer.
# 2. **Threshold.** Over all images and positions together, a unit's threshold is the
#    value that only a small share of its map values exceed: the *quantile*. The compendium
#    streams the maps and keeps, per unit, just the largest values needed to place that
#    quantile exactly, so memory grows with the number of kept values, not with the number
#    of images.
# 3. **Unit masks.** Each map is enlarged (bilinear interpolation) to the resolution of the
#    concept masks and cut at the threshold: the unit's mask is where it is above it.
# 4. **IoU.** For a concept $c$, sum over all images the pixels where the unit's mask and
#    the concept's mask overlap, and divide by the sum of the pixels where either is on:
#
#    $$\text{IoU}(u, c) = \frac{\sum_i |M_{u,i} \cap L_{c,i}|}{\sum_i |M_{u,i} \cup L_{c,i}|}.$$
#
# 5. **Label.** The unit is named after the concept with the highest IoU, and counted as a
#    detector of it when that IoU exceeds the *IoU threshold*.

# %% tags=["remove-input"]
display(page.myst(dissection_page.describe_dissection_settings(settings)))

# %% [markdown]
# Both constants are parameters of this page, and Network Dissection's published values
# are its defaults. **Concepts and their masks.** Fashion-MNIST photographs show one garment
# on a black background, so the garment's pixels (those above 0) are a ready-made
# segmentation. A concept's mask in an image is the garment when the image belongs to one
# of the concept's classes, and empty otherwise. The concepts are the ten classes and the
# two super-categories, footwear and upper body. Where Network Dissection probes a network
# with the Broden images, here the probe images are the same test images that the
# selectivity measures see.
#
# **Unit numbers.** Network Dissection's result files and website number the units of a
# layer from 1; torch, and every table of this book, number channels from 0. The paper's
# Tables A3-A5 print Network Dissection's numbers (the authors' scripts subtract one
# before indexing their activations), and so do the paper's rows in this book's data
# file. `compendium.methods.dissect.read_dissection_csv` reads a published result and adds a
# `unit_index` column counted from 0.

# %% [markdown]
# ## The networks
#
# The paper's three networks are two architectures trained on two tasks. The default
# profile mirrors that design with small networks trained here on Fashion-MNIST:
#
# - a VGG-style network (blocks of 3 x 3 convolutions; `conv3_3` is its last convolution,
#   in the place of VGG-16's `conv5_3`) and a GoogLeNet-style network (inception blocks;
#   `inception4b` is its last, in the place of `inception4e`) are each trained on a
#   **coarse task**, five groups (footwear, upper body, trouser, dress, bag) instead of the
#   ten classes. They stand in for the Places-365 networks {cite:p}`zhou2018places`,
#   which learned scenes rather than the objects that the measures ask about;
# - the same GoogLeNet-style network trained on the **ten classes** stands in for GoogLeNet
#   trained on ImageNet {cite:p}`szegedy2015`;
# - the small AlexNet of the earlier chapters (ten classes) comes along for free, since its
#   weights are already there.
#
# One difference from the paper's design must be kept in mind. Footwear is itself one of
# the five coarse labels, so the coarse networks were *trained* to separate footwear from
# the rest. 'Bus' is not one of the Places-365 categories, although several scenes (a
# bus station, the inside of a bus) feature buses. The coarse networks are therefore a
# friendlier setting for a footwear detector than Places-365 was for a bus detector.
#
# Every network is trained with the same code, optimiser and seed as the default AlexNet
# (`compendium.networks.training`), and its weights are cached by configuration (the
# table's `weights` row says whether they were shipped with the compendium or trained on
# the machine that built this page). Its activations on the test images are recorded with
# the same recorder, keeping *every* test image rather than only the correctly classified
# ones, as the paper's Appendix D did with its ImageNet images.

# %% tags=["remove-input"]
for shown in dissection_page.networks_outputs(run, include_silent):
    display(shown)

# %% [markdown]
# ## What the published quantile means on these images
#
# The IoU has a ceiling that depends only on how much of the data the two masks cover. If
# a unit's masks cover a share $a$ of all pixels of all images and a concept's masks a
# share $m$, the overlap is at most $\min(a, m)$ and the union at least $\max(a, m)$, so
# $\text{IoU} \le \min(a, m) / \max(a, m)$. In the Broden images a concept like 'bus'
# covers a small share of all pixels, and the top few per mille of a unit's activations
# can cover much of it. On Fashion-MNIST every image is one large object, and a
# super-category spanning three of ten classes covers far more of the pixels.

# %% tags=["remove-input", "remove-stderr"]
for shown in dissection_page.quantile_outputs(run):
    display(shown)

# %% [markdown]
# ## The units Network Dissection nominates
#
# For each network, the table counts the units by their best concept and how many of them
# pass the IoU threshold; the units nominated as super-category detectors are listed
# below it with their IoU. With `nominate_rule = "label"` (Network Dissection's own
# labelling, and the source of the paper's lists) a unit is nominated when its *best*
# concept is the super-category; with `"iou"` every unit whose IoU with the super-category
# passes the threshold is nominated, whatever its best concept.

# %% tags=["remove-input"]
for shown in dissection_page.nominated_outputs(run, include_silent):
    display(shown)

# %% [markdown]
# ## Tables A3-A5 for this run's nominated units
#
# One table per network, one row per nominated unit (numbered from 0), in the order of
# IoU. The first columns are the paper's: the IoU, the share of activations above zero for
# the super-category (A) and for all other images (not A), the mean activation of each, the
# share of A among the `top_n` most active images (`precision`) and CCMAS with A against
# the pooled rest. The paper printed only these. The next columns add the
# signal-detection measures for the same class A: recall at precision 1, and the maximum
# informedness with the hit rate and the false-alarm proportion FP / (TP + FP) at its
# threshold. The CSV file under each table has every column: standard errors, recall at
# precision .95, thresholds and false-positive rates included.

# %% tags=["remove-input"]
for shown in dissection_page.detector_table_outputs(run, reported):
    display(shown)

# %% [markdown]
# The paper's own three tables, for comparison, with its numbers as it prints them:

# %% tags=["remove-input"]
for shown in dissection_page.paper_table_outputs(reported):
    display(shown)

# %% [markdown]
# ## Fig. 6: the top-IoU unit of each network
#
# The paper's Fig. 6 shows, for each of its three networks, the jitterplot of the unit with
# the highest IoU for 'bus': one point per image, activation across, random height, the
# three bus classes in colour and every other image in grey. Here the same plot for the
# top-IoU nominated unit of each network; each class of the super-category has its own
# colour and mark. Hover a point for its image, class and activation; the dashed rule,
# drawn over the points, is the threshold of maximum informedness for the super-category.

# %% tags=["remove-input"]
for shown in dissection_page.fig6_outputs(run):
    display(shown)

# %% [markdown]
# ## Beside the paper
#
# One column per network: how many units the dissection nominated, and what the measures
# say about them at best and at worst. The paper's columns come from its Tables A3-A5
# (A3: VGG-16 on Places-365; A4: GoogLeNet on Places-365; A5: GoogLeNet on ImageNet), which
# have no signal-detection measures (–).

# %% tags=["remove-input"]
for shown in dissection_page.summary_outputs(run, reported):
    display(shown)

# %% [markdown]
# (ch-other-cnns-verdict)=
# ## The verdict, by the paper's three bars
#
# Per network, the units Network Dissection nominated and, where the whole dissected
# layer was measured, the layer's other units: how many clear each of the paper's bars for
# the super-category. The definitions are those of {ref}`ch-discussion`, with the class
# fixed to the super-category instead of chosen by the unit.

# %% tags=["remove-input"]
for shown in dissection_page.detectors_outputs(run, reported, include_silent):
    display(shown)

# %% [markdown]
# **How to read these numbers against the paper's.** The paper's verdict was that Network
# Dissection's bus units respond to nearly every bus but also to a large share of other
# images: some sensitivity to buses, little specificity, read off its jitterplots and its
# precision and CCMAS. The same questions can be put to each row above: does the unit
# respond to almost all of the super-category (`% > 0, A`), to how many other images does
# it respond (`% > 0, not A`), and does any threshold separate the super-category from the
# rest without many false alarms (recall at precision 1 and .95, and the hit rate and
# false-alarm proportion at maximum informedness)?
#
# Three differences from the paper's setting change what the numbers can be:
#
# - **Base rate.** Precision and the false-alarm proportion depend on how common the
#   super-category is (the numbers follow the list). Recall at precision 1 and the hit rate
#   at maximum informedness do not depend on the base rate in this way.
# - **Training task.** The coarse networks were trained with footwear as one of their five
#   outputs, which favours footwear units; the paper's Places-365 networks never saw 'bus'
#   as a label.
# - **Concepts.** Here the super-category's masks are the whole garment in every image of
#   its classes; Broden's 'bus' masks mark buses inside scenes, among other objects.

# %% tags=["remove-input"]
for shown in dissection_page.base_rate_outputs(run, reported):
    display(shown)

# %% [markdown]
# ## The paper's own networks
#
# The profile `imagenet` runs this page on torchvision's VGG-16 (`conv5_3`) and GoogLeNet
# (`inception4e`) over an ImageNet folder, the first images of each class as in Appendix D
# (`max_per_class`), and measures the units that the paper's Tables A3-A5 list, given as
# parameters in `notebooks/params/imagenet.yml` with Network Dissection's numbers (counted
# from 1). It needs what cannot ship with this book:
#
# - the ILSVRC-2012 images (`image_folder`), with one sub-folder per WordNet id;
# - the weights. The unit numbers refer to the Caffe models of Network Dissection's model
#   zoo, so they identify the same units only in those weights: convert them to
#   torchvision's layout and give the file as `weights` (and `num_classes: 365` for the
#   Places-365 networks). torchvision's own ImageNet weights (`weights: DEFAULT`) were
#   trained separately, so a unit number there does not name the paper's unit;
# - optionally, a Network Dissection result file per network (`dissection_csv`, the
#   `tally.csv` with columns `unit`, `category`, `label`, `score`): the units labelled
#   with the super-category and a score above the IoU threshold are then measured instead
#   of the listed ones.
#
# With those, each table above gains a `unit (from 1)` column and a unit-by-unit table puts
# this run's numbers beside the paper's. The same code is tested with random weights on a
# few generated images.

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(dissection_page.chapter_exercises(run, reported, include_silent))

# %% [markdown]
# (ch-other-cnns-rerun)=
# ## Rerunning this chapter
#
# The networks, the super-category and the dissection's constants are parameters of this
# page. The command below dissects again with another quantile and nominates by IoU alone
# (the networks' weights, recordings and dissections are cached, so only what changes is
# computed). A network is added or changed in the `04_other_cnns:` section of
# `notebooks/params/<profile>.yml` (its `nets` list: name, architecture, task, layer).

# %% tags=["remove-input"]
from compendium.build import recipes  # here: it loads the build layer, after the banner

display(
    recipes.rerun_recipe("04_other_cnns", dissection_page.rerun_example(), reads_recording=False)
)
