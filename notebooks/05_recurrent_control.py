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
# (ch-recurrent-control)=
# # A positive control: recurrent networks that recall lists
#
# The paper finds no grandmother cells in AlexNet. A null result of that kind is only as
# good as the measures behind it: they must also *find* selectivity where it is present.
# {cite:t}`gale2020` point to the place where it was reported, the recurrent networks of
# {cite:t}`bowers2014` and {cite:t}`bowers2016`, but do not run their own measures there.
# This chapter does, on a small recurrent network trained in two ways: to recall lists of
# words, and to recall one word at a time.

# %% tags=["parameters"]
profile = "default"  # the profile that produced this page (set by the pipeline)
n_letters = 10  # size of the alphabet
word_length = 3  # letters per word; the vocabulary is every such string
list_length = 4  # longest list in the list condition (the control condition uses 1)
hidden_size = 128  # hidden units of the recurrent network
steps = 12000  # training updates, the same in both conditions
batch_size = 64  # lists per update
learning_rate = 0.01  # Adam's step size
seed = 0  # seed of the weights, the training lists, the test lists and the planted units

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from compendium.chapters import downloads, exercises, page, recurrent_control
from compendium.methods import recurrent

config = recurrent.RecallConfig(
    n_letters=n_letters,
    word_length=word_length,
    list_length=list_length,
    hidden_size=hidden_size,
    steps=steps,
    batch_size=batch_size,
    learning_rate=learning_rate,
    seed=seed,
)
# Both networks (shipped, cached or trained now), so that the banner can give their accuracy.
results = recurrent.run_control(config, progress=False)
page.setup(
    profile,
    {
        "n_letters": n_letters,
        "word_length": word_length,
        "list_length": list_length,
        "hidden_size": hidden_size,
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
    },
    run=recurrent_control.run_description(config, results),
)

# %% [markdown]
# ## What the paper says about recurrent networks
#
# - **Localist units exist in some networks.** In the paper's background section, Bowers
#   and colleagues are reported to have found, in recurrent networks that model short-term
#   memory, many units that respond to every member of one letter or word more strongly
#   than to anything else: a "grandmother cell" in the strict, localist sense. The paper's
#   Fig. 2 (top left) shows one of them as a jitterplot: unit 113, selective for the
#   letter 'j'.
# - **They appear under the superposition constraint.** The same section reports that these
#   units emerged only when the network had to hold a *list* of words at once, and not when
#   it was trained on letters or words one at a time (Fig. 2, top centre, shows a
#   non-selective unit, 160, of a network trained that way). The explanation offered is
#   that co-active distributed patterns blend into an ambiguous mixture (the "superposition
#   catastrophe"), which separate, selective codes avoid.
# - **Size is a possible confound.** The discussion notes that those recurrent networks were
#   tiny next to AlexNet, so the contrast might reflect size rather than superposition. It
#   looks forward to applying the paper's measures to the larger recurrent (LSTM) networks
#   in which other authors have reported selective units.
#
# This chapter is a control for the *measures*, not a replication of Bowers et al.: it asks
# whether the measures of chapter 1 tell a selective recurrent unit from an unselective one,
# and whether holding several words at once makes the difference in a network small enough
# to train while the book builds.

# %% [markdown]
# ## The task and the network
#
# **Words.** A word is a string of a few letters from a small alphabet, and the vocabulary
# holds *every* such string (this run's sizes are in the banner above and the line below).
# A word enters the network as letters in slots: one group of input units per position,
# with the unit of that position's letter switched on.
#
# **Trials.** The network sees a list of words, one per time step. Then a "recall" input
# comes on, and at each following step the network has to produce the next word of the
# list, in order, as one choice of letter per position. In the **list condition** the lists
# hold between one word and `list_length` words, so the network must keep several words
# active at once. In the **single-word condition** the same network, with the same size,
# seed and number of updates, only ever sees lists of one word: it never has to hold two.
#
# **Network.** A simple recurrent (Elman) network: one layer of hidden units with logistic
# activations that receive the current input and their own state from the previous step,
# and a read-out from the hidden units to the letter slots. Training uses Adam on the
# cross-entropy of the recalled letters, on one CPU thread with fixed seeds, so a rebuild
# gives the same weights; trained weights are cached by configuration.
#
# **What is recorded.** After training, every word of the vocabulary is shown alone, and the
# hidden state right after it is recorded. These words are the "images" of the earlier
# chapters: the same items for both networks.
#
# **Classes: letters in a position.** For position $p$, a word's class is its $p$-th letter
# (written `_c_` for "c in the second place"). Because the vocabulary is complete, every
# class holds the same number of words. The measures run once per position, and each unit
# is reported for the position in which it is most selective (highest maximum
# informedness, then recall at 100% precision). A **localist** unit is then one for which
# every word with, say, c in the second place is more active than every other word; for
# such a unit, and only for such a unit, recall at 100% precision equals 1.
#
# **What differs from Bowers et al.** The design follows their description only in
# outline:
#
# - The words are all strings over a small alphabet, not English words, so that every
#   letter class is the same size and holds enough items for the top-60 and top-100
#   precision.
# - Selectivity is asked for letters in a position. Word classes would hold one item each
#   when words are shown alone, and "localist" would then be true of every unit's
#   favourite word by definition.
# - The sizes, the training length and the optimiser (Adam) are this compendium's choices,
#   not theirs: both conditions must train on a laptop's CPU in a few minutes.
# - Lists are drawn at random, of random length, and may repeat a word.
# - The single-word control keeps everything else the same, including the recall cue.

# %% tags=["remove-input"]
vocab = recurrent.vocabulary(n_letters, word_length)
display(Markdown(recurrent_control.describe_task(config, vocab)))

# %% [markdown]
# ## First, units with a known answer
#
# Before measuring trained networks, two made-up units over the same vocabulary go through
# the same code (`compendium.methods.recurrent.planted_units`):
#
# - a **planted grandmother cell** for the letter a in the first position: every such word
#   gives 0.7 to 1, every other word 0 to 0.3;
# - a **planted distributed unit**: in each position, half of the letters (chosen at
#   random) each add the same amount, so the unit responds to many letters in every
#   position and singles out none.

# %%
planted = recurrent.planted_units(vocab, n_letters, position=0, letter=0, seed=seed)
planted_measures = recurrent.letter_measures(planted, vocab, n_letters)
planted_table = recurrent_control.planted_table(planted_measures)
display(planted_table)
display(downloads.csv_download(planted_table, "planted_units"))

# %% tags=["remove-input"]
display(Markdown(recurrent_control.describe_planted(planted_measures)))

# %% [markdown]
# A unit's precision of the top 60 can reach 1 only when its class holds at least 60
# words, which is why the vocabulary is complete. The two as jitterplots. Each dot is a word (the chart's title says "image", the word
# the other chapters use for an item); the classes are the letters in the position where
# the unit is measured, and the unit's best class is highlighted.

# %%
for column, name in enumerate(recurrent.PLANTED):
    display(
        recurrent_control.unit_jitterplot(
            planted[:, column], planted_measures.loc[column], vocab, n_letters, name, seed=seed
        )
    )

# %% [markdown]
# ## Training both networks
#
# Both networks train from the same seed for the same number of updates (or are read from
# the weights shipped with the compendium or from the cache, when this configuration was
# trained before; the first cell of the page did that). Accuracy is measured on fresh lists
# of the longest length each network was trained on: words are right when all their letters
# are, lists when all their words are.

# %% tags=["remove-input"]
training = recurrent_control.training_table(results)
display(training)
display(downloads.csv_download(training, "training"))

# %% [markdown]
# ## How selective are the hidden units?
#
# The same `unit_measures` of chapter 1, run on each network's hidden units over every
# word shown alone. The two conditions side by side:

# %% tags=["remove-input"]
summary = recurrent_control.selectivity_summary(results)
display(summary)
display(downloads.csv_download(summary, "selectivity_summary"))

# %% tags=["remove-input"]
display(Markdown(f"**This run ({profile}):** {recurrent_control.describe_contrast(results)}"))

# %% [markdown]
# Every unit's value of each measure, one row per measure, the two networks on separate
# lines (hover a dot for the unit number):

# %%
recurrent_control.distribution_chart(recurrent_control.measures_long(results), seed=seed)

# %% [markdown]
# ## The most selective unit of each network: the Fig. 2 analogue
#
# For each network, the unit with the highest recall at 100% precision (ties: highest
# maximum informedness), as a jitterplot over all words. In the paper's Fig. 2 the
# list-trained unit at the top left separates its letter from everything else, while the
# single-word unit at the top centre does not.

# %% tags=["remove-input"]
best = recurrent_control.best_units(results)
best_table = recurrent_control.best_units_table(results, best)
display(best_table)
display(downloads.csv_download(best_table, "most_selective_units"))
for name, result in results.items():
    display(
        downloads.csv_download(
            result.measures,
            f"measures_{name.replace(' ', '_')}",
            label=f"Every unit of the network trained on {name}, as CSV:",
        )
    )

# %%
for name, unit in best.items():
    display(
        recurrent_control.unit_jitterplot(
            results[name].activations[:, unit],
            results[name].measures.loc[unit],
            vocab,
            n_letters,
            f"{name}, unit {unit}",
            seed=seed,
        )
    )

# %% [markdown]
# The paper's point about precision carries over. By the criterion of
# {cite:t}`zhou2015`, a unit whose 60 most active items are more than 75% one class is an
# object detector; here the items are words and the classes letters:

# %% tags=["remove-input"]
display(Markdown(recurrent_control.describe_detectors(summary, len(vocab) // n_letters)))

# %% [markdown]
# ## What this control shows, and what it does not
#
# - The planted units show what each measure gives for a known answer (the numbers are in
#   their section above): whether the signal-detection measures tell the grandmother cell
#   from the distributed unit, and how far CCMAS moves with the cell's resting level.
# - The trained networks show what a small recurrent network learns under this profile's
#   settings. The counts above are this run's, for one seed; other seeds, longer training or
#   larger networks can move them, and the parameters at the top of the page are there to
#   try that (the recipe is below).
# - A network this small says nothing about whether size, rather than superposition,
#   explains why AlexNet has no localist units: both networks here are equally small.
#
# ## Exercises

# %% tags=["remove-input"]
display(
    exercises.block(recurrent_control.exercises(config, planted, planted_measures, results, vocab))
)

# %% [markdown]
# (ch-recurrent-control-rerun)=
# ## Rerunning this chapter
#
# A larger network, trained for longer, is one command away; its weights are trained here
# (a few minutes on a laptop's CPU per condition) and cached, and the page is rebuilt:

# %% tags=["remove-input"]
from compendium.build import recipes  # here: it loads the build layer, after the banner

display(
    recipes.rerun_recipe(
        "05_recurrent_control", {"hidden_size": 256, "steps": 24000}, reads_recording=False
    )
)
