"""Activation files, the HDF5 hand-over between recording a network and measuring it: the door.

This module holds no code of its own; it gathers the public names of the modules that do
the work, so that ``from compendium.activations.store import open_activations`` is the one
import a user of activation files needs:

* :mod:`compendium.activations.writer`: :class:`ActivationWriter`, :class:`LayerSpec`,
  :func:`partial_path` and the schema's constants (the compendium's own
  ``format="compendium-activations"``, documented in ``data/README.md``);
* :mod:`compendium.activations.reader`: :func:`open_activations` (both formats, one door)
  and :func:`is_complete`;
* :mod:`compendium.activations.merged`: the authors' published "AlexNet_Merged" files
  (one ``AN_merged_<layer>_max.h5`` per layer, one HDF5 group per ImageNet class);
* :mod:`compendium.activations.file`: :class:`ActivationFile`, what an open file of either
  format offers, and :class:`ActivationFileError`.
"""

from __future__ import annotations

from compendium.activations.file import SUMMARIES, ActivationFile, ActivationFileError
from compendium.activations.merged import MergedLayerView
from compendium.activations.reader import is_complete, open_activations
from compendium.activations.writer import (
    CHUNK_UNITS,
    FORMAT,
    FORMAT_VERSION,
    ActivationWriter,
    LayerSpec,
    partial_path,
)

__all__ = [
    "CHUNK_UNITS",
    "FORMAT",
    "FORMAT_VERSION",
    "SUMMARIES",
    "ActivationFile",
    "ActivationFileError",
    "ActivationWriter",
    "LayerSpec",
    "MergedLayerView",
    "is_complete",
    "open_activations",
    "partial_path",
]
