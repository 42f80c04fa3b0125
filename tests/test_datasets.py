"""Data sets: Fashion-MNIST lookup order, checksums, download, and ImageNet-style folders."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pytest

from compendium.inputs import datasets
from compendium.inputs.datasets import (
    DatasetError,
    ImageFolderDataset,
    load_fashion_mnist,
    read_idx,
)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def fake_fmnist(tmp_path, monkeypatch):
    """Small fake IDX files with their own checksums; cache and Debian folders in tmp."""
    rng = np.random.default_rng(0)
    arrays = {
        ("train", "images"): rng.integers(0, 256, (6, 28, 28)),
        ("train", "labels"): rng.integers(0, 10, 6),
        ("test", "images"): rng.integers(0, 256, (4, 28, 28)),
        ("test", "labels"): np.array([3, 1, 4, 1]),
    }
    files, blobs = {}, {}
    for key, array in arrays.items():
        name = datasets.FASHION_MNIST_FILES[key][0]
        blobs[name] = idx_bytes(array)
        files[key] = (name, hashlib.sha256(blobs[name]).hexdigest())
    monkeypatch.setattr(datasets, "FASHION_MNIST_FILES", files)
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DEBIAN_DIR", tmp_path / "debian")
    return arrays, blobs, tmp_path


def put(folder, blobs, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (folder / name).write_bytes(blob)


def test_reads_debian_folder_gzipped(fake_fmnist):
    arrays, blobs, tmp = fake_fmnist
    put(tmp / "debian", blobs)
    data = load_fashion_mnist("test", download=False)
    assert data.images.dtype == np.uint8 and data.images.shape == (4, 28, 28)
    np.testing.assert_array_equal(data.images, arrays[("test", "images")])
    assert data.labels.tolist() == [3, 1, 4, 1] and data.labels.dtype == np.int64
    assert data.class_names[0] == "T-shirt/top" and len(data.class_names) == 10
    x, y = data[2]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and y == 4
    assert "debian" in data.sources[0]


def test_cache_wins_over_debian(fake_fmnist):
    _, blobs, tmp = fake_fmnist
    put(tmp / "debian", {k: b"junk" for k in blobs})
    put(tmp / "cache" / "fashion-mnist", blobs, gz=False)
    data = load_fashion_mnist("train", download=False)
    assert len(data) == 6 and "cache" in data.sources[0]


def test_checksum_mismatch_names_the_fix(fake_fmnist):
    _, blobs, tmp = fake_fmnist
    name = next(iter(blobs))
    put(tmp / "debian", {**blobs, name: blobs[name][:-1] + b"\x01"})
    with pytest.raises(DatasetError, match="sha256.*delete it and fetch it again"):
        load_fashion_mnist("train", download=False)


def test_no_source_names_both_ways(fake_fmnist):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist.*download"):
        load_fashion_mnist("test", download=False)


def test_download_when_nothing_local(fake_fmnist, monkeypatch):
    _, blobs, tmp = fake_fmnist
    requested = []

    def fake_urlopen(url, timeout):
        requested.append(url)
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        response = io.BytesIO(gzip.compress(blobs[name]))
        response.headers = {}
        return response

    monkeypatch.setattr(datasets.urllib.request, "urlopen", fake_urlopen)
    data = load_fashion_mnist("test")
    assert len(data) == 4 and len(requested) == 2
    assert requested[0].startswith(datasets.UPSTREAM_URL)
    assert sorted(p.name for p in (tmp / "cache" / "fashion-mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    load_fashion_mnist("test")  # now from the cache
    assert len(requested) == 2


def test_failed_download_leaves_nothing(fake_fmnist, monkeypatch):
    _, _, tmp = fake_fmnist

    def offline(url, timeout):
        raise datasets.urllib.error.URLError("no network")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError, match="could not download.*apt-get install"):
        load_fashion_mnist("test")
    assert list((tmp / "cache" / "fashion-mnist").iterdir()) == []


def test_truncated_idx(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(10))[:-3])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)
    path.write_bytes(b"\x08\x08\x08\x08")
    with pytest.raises(DatasetError, match="magic"):
        read_idx(path)


@pytest.mark.skipif(
    not (datasets.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist_test_split(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path))
    data = load_fashion_mnist("test", download=False)
    assert data.images.shape == (10000, 28, 28)
    assert np.bincount(data.labels).tolist() == [1000] * 10


# -- ImageNet-style folders ----------------------------------------------------------------


def make_folder(root, wnids, per_class=3, size=(20, 16)):
    from PIL import Image

    rng = np.random.default_rng(1)
    for w in wnids:
        (root / w).mkdir(parents=True)
        for k in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / w / f"{w}_{k}.JPEG", format="JPEG")
    return root


def test_image_folder_with_synsets_file(tmp_path):
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("n001 alpha, a\nn002 beta\nn003 gamma\n")
    root = make_folder(tmp_path / "imgs", ["n003", "n001"], per_class=2)
    ds = ImageFolderDataset(root, synsets=synsets)
    assert ds.class_names == ["alpha, a", "beta", "gamma"]
    assert ds.labels.tolist() == [0, 0, 2, 2]
    assert [p.name for p in ds.files][:2] == ["n001_0.JPEG", "n001_1.JPEG"]
    image, label = ds[3]
    assert image.size == (16, 20) and image.mode == "RGB" and label == 2
    assert len(ImageFolderDataset(root, synsets=synsets, max_per_class=1)) == 2
    assert len(ds.subset(3)) == 3


def test_image_folder_imagenet_numbering(tmp_path):
    root = make_folder(tmp_path / "imgs", ["n04146614", "n01440764"], per_class=1)
    ds = ImageFolderDataset(root, transform=lambda im: np.asarray(im).shape)
    assert len(ds.class_names) == 1000
    assert ds.labels.tolist() == [0, 779]  # tench, school bus
    assert ds[1] == ((20, 16, 3), 779)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="one sub-folder per class"):
        ImageFolderDataset(tmp_path / "nowhere")
    root = make_folder(tmp_path / "imgs", ["n999"], per_class=1)
    with pytest.raises(DatasetError, match=r"\['n999'\] are not classes"):
        ImageFolderDataset(root)
    with pytest.raises(FileNotFoundError, match="synset_words.txt"):
        ImageFolderDataset(root, synsets=tmp_path / "none.txt")
