"""Layer 6: one module per chapter (summaries, tables, verdicts), the paper's numbers and
the book's plots.

Importing the layer silences the one warning tqdm gives in a notebook kernel without
ipywidgets ("IProgress not found"): plain progress bars are fine on a page, and a chapter
that imports a module using ``tqdm.auto`` before `compendium.chapters.page.setup` runs
would otherwise print it (pages keep no stderr, but the notebook does).
"""

import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
