"""What the build tells a page about its run.

`page_context` is what the pipeline hands each notebook's kernel (through
`compendium.chapters.page.describing`): the profile's data, network (with its training
settings and test accuracy) and recording, in words (`run_description`), and what each of
the notebook's parameters means (`parameter_help`, the comments of its ``parameters``
cell). The banner at the top of the page shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import papermill

from compendium.build.profiles import Profile, load_profile, section, source
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)


def page_context(profile_name: str, notebook: Path) -> dict[str, dict[str, str]]:
    """For `compendium.chapters.page.describing`: the run of `profile_name` in words and the
    comments of the parameters of `notebook` (an ``.ipynb`` file)."""
    return {"run": run_description(profile_name), "parameters": parameter_help(notebook)}


def parameter_help(notebook: Path) -> dict[str, str]:
    """Each parameter of `notebook` (an ``.ipynb`` file) with the comment beside it."""
    declared = papermill.inspect_notebook(str(notebook))
    return {name: str(value.get("help") or "") for name, value in declared.items()}


def run_description(profile_name: str) -> dict[str, str]:
    """The data, the network and what was recorded for the profile's results chapters,
    each in a sentence, from the profile and (when it exists) its activation file. Never
    trains or records; what is not there yet is said to be missing."""
    profile = load_profile(profile_name)
    try:
        kind = source(profile)
        if kind == "fashion-mnist":
            return _fashion_mnist_run(profile)
        if kind == "image-folder":
            return _image_folder_run(profile)
        return _authors_files_run()
    except (CompendiumError, OSError, KeyError, ValueError) as error:
        log.warning("the run of profile %s cannot be described: %s", profile_name, error)
        return {"Run": f"not described ({error})"}


def _fashion_mnist_run(profile: Profile) -> dict[str, str]:
    from compendium.build.stages import profile_train_config, store_path, uses_shipped
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES
    from compendium.networks.training import load_trained

    config = profile_train_config(profile)
    trained = load_trained(config, shipped=uses_shipped(profile))
    model = config.model
    images = "all 60,000" if config.n_train is None else f"the first {config.n_train:,}"
    accuracy = (
        f"test accuracy {trained.report['test_accuracy']:.4f} ({trained.provenance})"
        if trained is not None
        else "not trained yet"
    )
    network = (
        f"a small AlexNet (five conv layers of {', '.join(map(str, model.widths))} units, two "
        f"fully connected layers of {model.fc_width:,}, fc8 of {model.n_classes}), trained "
        f"for {config.epochs} epoch{'s' if config.epochs != 1 else ''} on {images} training "
        f"images (batch {config.batch_size}, learning rate {config.lr:g}, seed {config.seed}); "
        f"{accuracy}"
    )
    return {
        "Data": (
            f"Fashion-MNIST: 28 x 28 greyscale photographs of clothing in "
            f"{len(FASHION_MNIST_CLASSES)} classes"
        ),
        "Network": network,
        "Recorded": _recorded(section(profile, "record"), store_path(profile)),
    }


def _recorded(record: Mapping[str, Any], path: Path) -> str:
    """What the activation file at `path` holds (or would hold), in words."""
    split, keep = record.get("split", "test"), record.get("keep", "correct")
    first = record.get("n_images")
    images = f"the first {first:,} {split} images" if first else f"the {split} images"
    chosen = "the correctly classified ones kept, as in the paper" if keep == "correct" else ""
    kept = f"{images}, {chosen}" if chosen else f"all {images}"
    if path.is_file():
        from compendium.activations.reader import open_activations

        with open_activations(path) as activations:
            n_images = activations.n_images
        kept += f" ({n_images:,} images)"
    else:
        kept += " (not recorded yet)"
    return (
        f"{kept}; each conv unit summarised per image by its spatial maximum (the paper's "
        f"choice; the spatial mean is recorded too)"
    )


def _image_folder_run(profile: Profile) -> dict[str, str]:
    from compendium.build.stages import store_path

    data, record = section(profile, "data"), section(profile, "record")
    per_class = data.get("max_per_class")
    network = f"torchvision's {record.get('model', 'alexnet')}"
    weights = record.get("weights")
    network += f" with weights `{weights}`" if weights else " with random weights (seed 0)"
    return {
        "Data": "an image folder with one sub-folder per WordNet id (ImageNet-style)"
        + (f", at most {per_class:,} images per class" if per_class else ""),
        "Network": f"{network}; nothing is trained here",
        "Recorded": _recorded({"split": "folder's", **record}, store_path(profile)),
    }


def _authors_files_run() -> dict[str, str]:
    return {
        "Data": "the authors' published activation files (AN_merged_<layer>_max.h5)",
        "Network": "the pretrained Caffe AlexNet whose activations those files hold",
        "Recorded": (
            "nothing here: the files hold each unit's spatial maximum over the ImageNet "
            "training images that the network classified correctly"
        ),
    }
