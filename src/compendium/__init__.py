"""Executable compendium for Gale et al. (2020), "Are there any 'object detectors' in the
hidden layers of CNNs trained to identify objects or scenes?".

Each module does one job along the flow data -> model -> activations -> measures -> book.
"""

__version__ = "0.1.0"
