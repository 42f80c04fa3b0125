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
# (ch-measures)=
# # Measures of selectivity
#
# This chapter defines every number the later chapters compute for a unit, works through
# a ten-image example by hand and by code, and then rebuilds the three made-up units with
# which {cite:t}`gale2020` argue, in their Appendix C (Fig. A2), that a high class-mean
# contrast need not mean a selective unit. It ends with exercises and with the command that
# reruns it with other parameters.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page
n_classes = 10  # classes in the generated Fig. A2 units
n_items = 100  # images per class in the generated units
seed = 0  # seed of the generated units and of the jitter in the plots
n_seeds = 200  # seeds for the tie-breaking experiment at the end

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.chapters import (
    downloads,
    exercises,
    explorer,
    page,
    paper,
    plots,
)
from compendium.chapters import measures_page as chapter
from compendium.inputs import synthetic

page.setup(
    profile,
    {
        "n_classes": n_classes,
        "n_items": n_items,
        "seed": seed,
        "n_seeds": n_seeds,
    },
    run=chapter.run_description(n_classes, n_items, seed),
)
reported = paper.reported()

# %% [markdown]
# ## The setting
#
# Every measure looks at **one unit at a time**. Show the trained network $N$ images whose
# class it gets right; the unit answers image $i$ with an activation $x_i$, and the image
# belongs to class $y_i$, one of $C$ classes. For a class $A$ write $N_A$ for its number
# of images, $\neg A$ for all the other images, and $\mu_A$, $\mu_{\neg A}$ for the mean
# activation over each group.
#
# Several measures treat the unit as a detector with a **threshold** $t$: an image counts
# as detected when $x_i \ge t$. For a class $A$ that gives hits
# $TP = \#\{i : x_i \ge t,\ y_i = A\}$ and false alarms $FP = \#\{i : x_i \ge t,\ y_i \ne A\}$.
# Thresholds are placed only at activation values that occur, so two images with the same
# activation always land on the same side. This matters in practice: after a ReLU a large
# share of the images give exactly 0.
#
# The measures fall in three families: those that look at the **top of the ranking**
# (precision), those that compare **class means** (CCMAS), and those that ask how well a
# **threshold separates** one class from the rest (localist selectivity, recall at fixed
# precision, informedness).

# %% [markdown]
# ## The measures
#
# ### Precision of the top $n$
#
# Rank the images from most to least active and keep the first $n$. Precision is the
# largest share of those $n$ images that one class holds:
#
# $$\text{precision}_n = \max_A \frac{\#\{\text{images of } A \text{ among the top } n\}}{n}.$$
#
# {cite:t}`zhou2015` asked people to label the 60 image patches that drove a unit most and
# called a unit an object detector when more than 75% of them agreed; the paper replaces
# the raters with class labels and reports $n = 60$ (and $n = 100$ in its Appendix B, with
# the number of distinct classes among those 100 as a companion figure). Images that tie
# at the cut are taken in image order, so precision can hinge on the order in which the
# images happen to be stored, a point that returns at the end of this chapter.
#
# ### Class-conditional mean activation selectivity (CCMAS)
#
# {cite:t}`morcos2018` contrast the mean of the most active class with the mean of
# everything else:
#
# $$\text{CCMAS} = \frac{\mu_A - \mu_{\neg A}}{\mu_A + \mu_{\neg A}},
# \qquad A = \arg\max_c \mu_c .$$
#
# With non-negative activations and $A$ the class with the highest mean, $\mu_A$ is at least
# the mean of the other images, so CCMAS runs from $0$ (every class has the same mean) to
# $1$, which it reaches exactly when the images outside $A$ are all silent. (The same
# formula for any other class can be negative, down to $-1$.) Here $\mu_{\neg A}$ pools
# every image outside $A$, as the paper's text and the authors' code do. Two variants appear
# beside it:
#
# - **CCMAS2** applies the same formula to the class with the *second*-highest mean. The
#   paper's Appendix C uses it to ask whether a unit that looks selective for one class
#   looks just as selective for another.
# - **class-mean CCMAS** replaces the pooled $\mu_{\neg A}$ by the average of the other
#   classes' means, which weights every class equally whatever its size.
#
# ### Localist selectivity
#
# Following {cite:t}`bowers2014`, a unit is **localist** for class $A$ when every image
# of $A$ is more active than every other image:
#
# $$\min_{i:\,y_i = A} x_i \;>\; \max_{i:\,y_i \ne A} x_i .$$
#
# The gap between the two sides says by how much the test passes (a positive gap) or
# fails (a negative one). A jitterplot shows it at a glance: the class of interest forms a
# block to the right of everything else.
#
# ### Recall at 100% and at 95% precision
#
# Take $A$ to be the class of the single most active image. **Recall at 100% precision**
# is the share of $A$'s images that lie above the most active image of any other class,
#
# $$\text{recall}_{p=1} = \frac{\#\{i : y_i = A,\ x_i > \max_{j:\,y_j \ne A} x_j\}}{N_A},$$
#
# a graded version of the localist test: it is 1 exactly when the unit is localist for
# $A$. **Recall at 95% precision** relaxes the condition and takes the best recall over
# all thresholds at which at least 95% of the detected images belong to $A$ (0 if no
# threshold gets there).
#
# ### Maximum informedness, and what lies at it
#
# For a class $A$ and threshold $t$ the **hit rate** (recall, sensitivity) is
# $TP / N_A$ and the **specificity** is the share of other images left below the
# threshold, $1 - FP / N_{\neg A}$. Their sum minus one is **informedness**
# {cite:p}`powers2011`:
#
# $$J(A, t) = \frac{TP}{N_A} + \left(1 - \frac{FP}{N_{\neg A}}\right) - 1
#           = \frac{TP}{N_A} - \frac{FP}{N_{\neg A}} .$$
#
# It is 0 for a threshold that guesses and 1 for one that separates $A$ perfectly. The
# **maximum informedness** of a unit is the largest $J$ over every class and every
# threshold; the class and threshold where it is reached are reported with it, together
# with the hit rate and specificity there.
#
# The paper also reports a **false-alarm rate** at that threshold, and its numbers (for
# example, that nearly all of the images above a unit's best threshold came from other
# classes, for a unit whose best threshold left most other images below it) show that it
# means the share of *detected* images that are wrong,
#
# $$\text{false-alarm proportion} = \frac{FP}{TP + FP},$$
#
# which is one minus precision at that threshold, and not the textbook false-positive rate
# $FP / N_{\neg A}$ (one minus specificity). The compendium keeps both: `mi_false_alarm`
# is the paper's quantity and `mi_fpr` the textbook one.

# %% [markdown]
# ## A worked example
#
# Ten images of three classes, A, B and C, are small enough to check by hand. Here they
# are, sorted from the most to the least active:

# %% tags=["remove-input"]
activations, labels, class_names = synthetic.worked_example()
example = chapter.example_table(activations, labels, class_names)
display(example)
display(downloads.csv_download(example, "worked_example_images"))

# %% [markdown]
# With ten images a top 60 makes no sense, so the example ranks the top 5 and top 10
# instead. The hand calculation goes as follows. Class A has the highest mean,
# $\mu_A = 23/4 = 5.75$, and the six other images average $14/6 \approx 2.33$, so CCMAS is
# $(5.75 - 2.33)/(5.75 + 2.33) \approx 0.423$. Of the top 5, three are A: precision 0.6.
# A's weakest image (2) sits below B's strongest (6), so the unit is not localist, but the
# two A images above 6 give recall 2/4 = 0.5 at perfect precision. The best threshold is
# 5: it catches three of the four A images (hit rate 0.75) and one of the six others
# (specificity 5/6), so the maximum informedness is $0.75 - 1/6 \approx 0.583$, and one in
# four of the images above it is a false alarm. The code gives the same numbers (the
# chapter stops with an error if the two columns ever disagree):

# %%
worked, example_measures = chapter.worked_example(activations, labels)

# %% tags=["remove-input"]
display(worked)
display(downloads.csv_download(worked, "worked_example_measures"))

# %% [markdown]
# The same example as a jitterplot. Each dot is an image, placed along the horizontal axis
# by its activation; the vertical position is random and only keeps dots apart. Hover a
# dot to see its class and activation. The dashed rules mark the cut below the top 5 and
# the threshold of maximum informedness, in the colours they have on every page of this
# book: red for the top-$n$ cut, green for the threshold of maximum informedness.

# %%
x_example = activations[:, 0]
plots.jitterplot(
    x_example,
    labels,
    class_names,
    "worked example",
    highlight_class=0,
    thresholds=chapter.example_thresholds(x_example, example_measures),
    seed=seed,
)

# %% [markdown]
# The same unit with a threshold slider. Drag it, or click it and use the arrow keys: each
# step moves the threshold to the next activation that occurs, the images at or above it
# are drawn solid, and the numbers under the plot are counted again, so the hit rate can be
# seen to trade against the false alarms. It starts at the threshold of maximum
# informedness for A, where the numbers are those of the table above; the class can be
# changed too.

# %%
explorer.threshold_slider_chart(
    x_example,
    labels,
    class_names,
    example_measures,
    unit_label="worked example",
    highlight_class=0,
    top_n=5,
    seed=seed,
)

# %% [markdown]
# ## Three made-up units: the paper's Fig. A2
#
# {cite:t}`gale2020` invent three units over ten classes of a hundred images each, to show
# that CCMAS can disagree with what anyone would call selectivity. Class 0 is the class of
# interest in all three:
#
# - **(a) one active item**: a single image of class 0 activates the unit; every other
#   image gives 0.
# - **(b) a grandmother cell**: every image of class 0 activates the unit (here uniformly
#   between 0.5 and 1) and every other image gives 0.
# - **(c) one class above the rest**: every image activates the unit (here uniformly
#   between 0.75 and 0.8), and class 0 sits 0.1 higher than the others.
#
# The generator lives in `compendium.inputs.synthetic`; the images are stored in a shuffled
# (seeded) order, as images of a real data set would be. This run's sizes and seed are
# those of the profile named at the top of the page.

# %%
cases = synthetic.figure_a2_cases(n_classes, n_items, seed=seed)
names = [f"class {c}" for c in range(n_classes)]
measures = chapter.fig_a2_measures(cases)

# %% tags=["remove-input"]
fig_a2 = chapter.fig_a2_table(measures)
display(fig_a2)
display(downloads.csv_download(fig_a2, "fig_a2_units"))

# %% [markdown]
# The figure in the paper gives two numbers per unit, CCMAS and precision. Beside this
# run's values (the figure does not say whether its precision counts the top 60 or the top
# 100; Appendix B of the paper uses 100, so that is the column compared):

# %% tags=["remove-input"]
comparison = chapter.fig_a2_comparison(measures, reported)
display(comparison)
display(downloads.csv_download(comparison, "fig_a2_beside_paper"))
display(Markdown(chapter.describe_fig_a2(comparison, n_items, profile)))

# %% [markdown]
# What the three units teach:

# %% tags=["remove-input"]
display(Markdown(chapter.describe_lessons(measures, reported, n_items)))

# %% [markdown]
#
# **Why precision can differ for unit (a).** Unit (a) has one active image, so its top
# 100 is that image plus 99 of the images that gave exactly 0. Which 99 is settled only by
# how ties are broken. The compendium takes tied images in the order they are stored, and
# the generator stores them in a random order, so the 99 are in effect a random draw. Two
# things then move the number:
#
# - **the tie order**: another seed puts other zeros in the top 100;
# - **the definition**: precision here is the largest share of *any* class in the top
#   100, and among 99 zeros drawn at random some class other than class 0 often holds
#   the most. The share of class 0 alone would be, on average,
#   $(1 + 99 \cdot \tfrac{n-1}{N-1}) / 100$, with $n$ the images per class and $N$ all
#   images.

# %% tags=["remove-input"]
display(Markdown(chapter.describe_expected_share(n_classes, n_items, reported)))

# %% [markdown]
# The paper says neither how it broke ties nor which class it counted for this unit. The
# next cell repeats the generation with many seeds to show how far the number moves (the
# table sums up precision of the top 60 and top 100 and, for comparison, maximum
# informedness, over the seeds).

# %%
seeds = chapter.precision_seeds(n_classes, n_items, n_seeds)

# %% tags=["remove-input"]
seeds_summary = chapter.seeds_summary(seeds)
display(seeds_summary)
display(downloads.csv_download(seeds_summary, "precision_over_seeds_summary"))
display(
    downloads.csv_download(seeds, "precision_over_seeds", label="Every seed's measures as CSV:")
)
display(Markdown(chapter.describe_precision_seeds(seeds, measures, seed, reported)))

# %% [markdown]
# The lesson carries over to real layers, where a unit often answers a large share of the
# images with exactly 0: whenever fewer than $n$ images are active, precision of the top
# $n$ depends on the arbitrary order of the silent ones. The signal-detection measures do
# not have this problem, because a threshold never splits tied images.

# %% [markdown]
# ## Jitterplots of the three units
#
# In each plot the images of class 0 are blue diamonds and all other images grey dots.
# As on every page of the book, the red rule is the cut below the 60 most active images (the
# precision threshold) and the green one the threshold at which informedness is highest.
# Hover any dot or rule for its exact value.


# %%
def case_jitterplot(case: str):
    x, y = cases[case]
    return plots.jitterplot(
        x,
        y,
        names,
        chapter.CASE_TITLES[case],
        highlight_class=0,
        thresholds=chapter.case_thresholds(x, measures.loc[case]),
        seed=seed,
    )


case_jitterplot("a_one_active_item")

# %% tags=["remove-input"]
display(
    Markdown(
        chapter.describe_case_plot(
            "a_one_active_item", *cases["a_one_active_item"], measures.loc["a_one_active_item"]
        )
    )
)

# %%
case_jitterplot("b_grandmother")

# %% tags=["remove-input"]
display(
    Markdown(
        chapter.describe_case_plot(
            "b_grandmother", *cases["b_grandmother"], measures.loc["b_grandmother"]
        )
    )
)

# %%
case_jitterplot("c_one_class_above")

# %% tags=["remove-input"]
display(
    Markdown(
        chapter.describe_case_plot(
            "c_one_class_above", *cases["c_one_class_above"], measures.loc["c_one_class_above"]
        )
    )
)

# %% [markdown]
# ## Histograms
#
# A histogram counts images per activation bin. The paper uses one (its Fig. 4) to show
# how the activations of one class spread over the whole range. For unit (c), the class
# of interest alone and then all images:


# %%
def case_histogram(case: str, which: str):
    x, y = cases[case]
    return plots.histogram(
        x,
        y,
        names,
        chapter.CASE_TITLES[case],
        highlight_class=0,
        thresholds=chapter.case_thresholds(x, measures.loc[case]),
        which=which,
    )


case_histogram("c_one_class_above", which="class")

# %%
case_histogram("c_one_class_above", which="all")

# %% [markdown]
# ## What the next chapters take from this one
#
# The same `unit_measures` call, run on every unit of a trained network's layers, produces
# the distributions of the next chapter.

# %% tags=["remove-input"]
display(Markdown(chapter.describe_takeaway(measures)))

# %% [markdown]
# ## Exercises

# %% tags=["remove-input"]
display(exercises.block(chapter.exercises(activations, labels, example_measures, measures, seeds)))

# %% [markdown]
# (ch-measures-rerun)=
# ## Rerunning this chapter
#
# The chapter's units are made up, so it needs no data, network or recording and reruns in
# seconds. For instance, with twenty classes of fifty images for the units of Fig. A2:

# %% tags=["remove-input"]
from compendium.build import recipes  # here: it loads the build layer, after the banner

display(
    recipes.rerun_recipe("01_measures", {"n_classes": 20, "n_items": 50}, reads_recording=False)
)
