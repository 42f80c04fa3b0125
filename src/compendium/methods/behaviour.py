"""The behavioural experiment of the paper's Section 3.2: design, responses, Table 1.

Gale et al. showed people 10 x 10 panels of AM images, one panel per unit, and asked
whether the images shared an object (and, if so, which). This module holds everything
about that experiment except the images themselves:

* **Panels** (:func:`panel_grid`, :func:`png_bytes`, :func:`panels_html`): a unit's
  images tiled into one picture, encoded as PNG without any imaging library.
* **Design** (:func:`design_experiment`, :func:`paper_design`): panels dealt into
  counterbalanced lists (each panel in one list; every list holds as even a share of each
  layer as the numbers allow) and participants dealt onto lists. With the paper's numbers
  (256 conv5, 995 fc8 and 2,048 fc6 panels; 64 lists; 333 participants) this gives its
  64 lists of 51 or 52 panels (4 conv5, 15 or 16 fc8, 32 fc6), 51 lists seen by 5 people
  and 13 by 6.
* **Responses** (:func:`read_responses`, :func:`check_responses`): one row per
  participant and panel, columns :data:`RESPONSE_COLUMNS` (documented in
  ``data/README.md``). Human data and the model observers of
  :mod:`compendium.methods.observers` use the same table.
* **Label matching** (:class:`Synonyms`): free-text labels and class names are mapped to
  groups of rough synonyms through a table, as the paper counted 'beer', 'glass' and
  'drink' as one answer that also matched the classes 'wine glass' and 'beer'.
* **Analysis** (:func:`unit_judgements`, :func:`table1`): the columns of the paper's
  Table 1.

Choices the paper leaves open, made here and stated in the book: a unit is "consistently
interpretable" when at least ``threshold`` (0.8) of its responses are yes; the consensus of
such a unit is the synonym group (or groups, on a tie) named by most of its yes-labels;
column (c) is the share of its yes-labels that fall in the consensus; columns (d) and (e)
ask whether the consensus matches the class of the unit's most active image and its
CCMAS class. Standard errors: (a) over participants' own yes rates; (b), (d) and (e) the
binomial standard error over units; (c) over units. The binomial errors reproduce the
paper's (b) column from its own percentages and unit counts (e.g. conv5: 4.3% of 256
units gives 1.3), which is why they were chosen.
"""

from __future__ import annotations

import base64
import csv
import html
import os
import re
import struct
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from compendium.util.errors import CompendiumError

__all__ = [
    "BehaviourError",
    "Design",
    "LAYER_ORDER",
    "PAPER_DESIGN",
    "RESPONSE_COLUMNS",
    "Synonyms",
    "TABLE1_COLUMNS",
    "analyse",
    "check_responses",
    "design_experiment",
    "design_summary",
    "caption",
    "default_synonyms",
    "fig5_examples",
    "format_table1",
    "normalise_label",
    "panel_grid",
    "panels_html",
    "paper_design",
    "png_bytes",
    "read_responses",
    "sample_units",
    "table1",
    "unit_classes",
    "unit_judgements",
    "unit_maxima",
]

#: The columns of a response table, in order.
RESPONSE_COLUMNS = ("participant", "list", "layer", "unit", "yes", "label")
#: Table 1's columns, as named here, with what each means.
TABLE1_COLUMNS = {
    "yes": "(a) % 'yes' responses",
    "units_80": "(b) % units with >= 80% 'yes'",
    "overlap_humans": "(c) % overlap between participants",
    "overlap_top_class": "(d) % overlap with the most active image's class",
    "overlap_ccmas": "(e) % overlap with the CCMAS class",
}
#: The paper's layers in its order (conv5 first, as in its lists).
LAYER_ORDER = ("conv5", "fc8", "fc6")
#: The paper's experiment: panels per layer, lists and participants (Section 2).
PAPER_DESIGN = {
    "units": {"conv5": 256, "fc8": 995, "fc6": 2048},
    "n_lists": 64,
    "n_participants": 333,
    "fc6_units": 4096,
}

_YES = {"yes", "y", "true", "t", "1", "1.0"}
_NO = {"no", "n", "false", "f", "0", "0.0"}


class BehaviourError(CompendiumError):
    """An experiment design or a response table is not usable (the message says the fix)."""


# --------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------


def panel_grid(
    images: np.ndarray, columns: int = 10, gap: int = 1, zoom: int = 2, background: int = 255
) -> np.ndarray:
    """Tile a unit's images (K, C, H, W) uint8 into one (rows*H, columns*W[, 3]) picture,
    ``gap`` pixels apart, each pixel repeated ``zoom`` times."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype != np.uint8:
        raise BehaviourError(
            f"panel images must be uint8 (K, 1 or 3, H, W), not {images.dtype} {images.shape}"
        )
    k, c, h, w = images.shape
    rows = -(-k // columns)
    tile_h, tile_w = h * zoom + gap, w * zoom + gap
    out = np.full((rows * tile_h + gap, columns * tile_w + gap, c), background, np.uint8)
    big = images.repeat(zoom, axis=2).repeat(zoom, axis=3).transpose(0, 2, 3, 1)
    for i in range(k):
        r, q = divmod(i, columns)
        out[
            gap + r * tile_h : gap + r * tile_h + h * zoom,
            gap + q * tile_w : gap + q * tile_w + w * zoom,
        ] = big[i]
    return out[..., 0] if c == 1 else out


def png_bytes(picture: np.ndarray) -> bytes:
    """Encode a uint8 (H, W) greyscale or (H, W, 3) colour picture as PNG."""
    picture = np.ascontiguousarray(picture, dtype=np.uint8)
    if picture.ndim == 2:
        colour_type, height, width = 0, *picture.shape
    elif picture.ndim == 3 and picture.shape[2] == 3:
        colour_type, height, width = 2, *picture.shape[:2]
    else:
        raise BehaviourError(f"a PNG picture is (H, W) or (H, W, 3), not {picture.shape}")
    rows = picture.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def panels_html(panels: Sequence[tuple[np.ndarray, str]], width: int = 300) -> str:
    """HTML figures, side by side, for (picture, caption) pairs; the PNGs are inlined."""
    figures = []
    for picture, caption in panels:
        data = base64.b64encode(png_bytes(picture)).decode("ascii")
        figures.append(
            f'<figure style="margin:0 12px 12px 0;width:{width}px">'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(caption)}" '
            f'style="width:{width}px;image-rendering:pixelated"/>'
            f'<figcaption style="font-size:0.85em;line-height:1.3">{html.escape(caption)}'
            f"</figcaption></figure>"
        )
    return '<div style="display:flex;flex-wrap:wrap">' + "".join(figures) + "</div>"


# --------------------------------------------------------------------------------------
# Units and their classes
# --------------------------------------------------------------------------------------


def unit_maxima(store: Any, layer: str, block: int = 256) -> np.ndarray:
    """Each unit's largest recorded activation over the data set, read a block at a time."""
    acts = store.activations(layer)
    n_units = int(acts.shape[1])
    return np.concatenate(
        [
            np.asarray(acts[:, a : min(a + block, n_units)]).max(axis=0)
            for a in range(0, n_units, block)
        ]
    )


def sample_units(
    maxima: np.ndarray, choice: int | Sequence[int], *, seed: int = 0, layer: str = "layer"
) -> np.ndarray:
    """The units to study: ``choice`` units drawn at random (seeded) among those that respond
    to some image, or the listed units themselves. Silent units have no most active image
    and no CCMAS class, so a random draw leaves them out."""
    n_units = len(maxima)
    if isinstance(choice, (int, np.integer)):
        live = np.flatnonzero(np.asarray(maxima) > 0)
        if not 0 < choice <= len(live):
            raise BehaviourError(
                f"cannot draw {choice} units from {layer}: it has {len(live)} "
                f"units that respond to some image; ask for 1 to {len(live)}"
            )
        if choice == len(live):
            return live
        return np.sort(np.random.default_rng(seed).choice(live, int(choice), replace=False))
    units = np.asarray(list(choice), dtype=np.int64)
    bad = units[(units < 0) | (units >= n_units)]
    if bad.size:
        raise BehaviourError(
            f"units {bad.tolist()[:5]} are outside {layer}, which has units 0..{n_units - 1}"
        )
    return units


def unit_classes(store: Any, layer: str, units: Sequence[int]) -> pd.DataFrame:
    """For each unit: the class of its most active image, its CCMAS class (names) and its
    largest activation, from an open activation file (:mod:`compendium.activations.store`)."""
    from compendium.measures import present_class_measures

    units = np.asarray(list(units), dtype=np.int64)
    order = np.argsort(units)
    acts = np.asarray(store.activations(layer)[:, units[order].tolist()])
    table = present_class_measures(acts, store.labels, top=(min(100, len(store.labels)),))
    back = np.argsort(order)
    names = np.asarray(store.class_names, dtype=object)
    return pd.DataFrame(
        {
            "layer": layer,
            "unit": units,
            "top_class": names[table["top_class"].to_numpy(int)[back]],
            "ccmas_class": names[table["ccmas_class"].to_numpy(int)[back]],
            "dataset_max": acts.max(axis=0)[back],
        }
    )


# --------------------------------------------------------------------------------------
# Design
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    """Counterbalanced lists. ``lists``: one row per panel (list, layer, unit);
    ``participants``: one row per participant (participant, list)."""

    lists: pd.DataFrame
    participants: pd.DataFrame

    @property
    def n_lists(self) -> int:
        return int(self.lists["list"].nunique())

    def composition(self) -> pd.DataFrame:
        """Per list: panels of each layer, total panels and participants."""
        counts = pd.crosstab(self.lists["list"], self.lists["layer"])
        layers = [layer for layer in self.lists["layer"].unique()]
        counts = counts[layers]
        counts["panels"] = counts.sum(axis=1)
        counts["participants"] = self.participants.groupby("list").size()
        return counts.fillna(0).astype(int)

    def judges(self) -> pd.DataFrame:
        """Per panel (layer, unit): its list and how many participants see it."""
        seen = self.participants.groupby("list").size().rename("participants")
        return self.lists.join(seen, on="list").fillna({"participants": 0})

    def trials(self, seed: int = 0) -> pd.DataFrame:
        """Every participant's panels in their own seeded random order
        (participant, list, trial, layer, unit)."""
        rng = np.random.default_rng(seed)
        rows = []
        for participant, list_id in self.participants.itertuples(index=False):
            panels = self.lists[self.lists["list"] == list_id]
            order = rng.permutation(len(panels))
            for trial, (layer, unit) in enumerate(
                panels[["layer", "unit"]].to_numpy()[order].tolist()
            ):
                rows.append((participant, list_id, trial, layer, int(unit)))
        return pd.DataFrame(rows, columns=["participant", "list", "trial", "layer", "unit"])


def design_experiment(
    units: Mapping[str, Sequence[int]],
    n_lists: int,
    participants: int | Sequence[str],
    *,
    seed: int = 0,
) -> Design:
    """Deal each layer's panels into ``n_lists`` lists and participants onto the lists.

    Each layer's units are shuffled (seeded) and dealt round the lists, the dealing
    carrying on from list to list across layers, so every list gets the floor or the ceiling
    of each layer's share and list lengths differ by at most one. Participants (a count, or
    their ids) are dealt the same way: the first ``n % n_lists`` lists get one more.
    """
    if n_lists < 1:
        raise BehaviourError(f"n_lists must be at least 1, not {n_lists}")
    ids = (
        [f"P{i + 1:03d}" for i in range(participants)]
        if isinstance(participants, int)
        else [str(p) for p in participants]
    )
    if len(ids) < n_lists:
        raise BehaviourError(
            f"{len(ids)} participants cannot cover {n_lists} lists: give "
            "at least one participant per list, or fewer lists"
        )
    if len(set(ids)) != len(ids):
        raise BehaviourError("participant ids must be unique")
    rng = np.random.default_rng(seed)
    rows, dealt = [], 0
    for layer, layer_units in units.items():
        layer_units = [int(u) for u in layer_units]
        if len(set(layer_units)) != len(layer_units):
            raise BehaviourError(f"layer {layer!r} lists a unit twice; give each unit once")
        for unit in rng.permutation(np.asarray(layer_units, dtype=np.int64)).tolist():
            rows.append((dealt % n_lists, layer, unit))
            dealt += 1
    if not rows:
        raise BehaviourError("no units to put in the lists; give at least one unit")
    lists = pd.DataFrame(rows, columns=["list", "layer", "unit"])
    lists = lists.sort_values(["list", "layer", "unit"], kind="stable").reset_index(drop=True)
    people = pd.DataFrame({"participant": ids, "list": [i % n_lists for i in range(len(ids))]})
    return Design(lists, people)


def design_summary(design: Design) -> pd.Series:
    """The numbers the paper gives about its lists, for any design: panels, lists, the
    shortest and longest list, and how many lists 5 and 6 participants saw."""
    composition = design.composition()
    return pd.Series(
        {
            "n_panels": len(design.lists),
            "n_lists": design.n_lists,
            "min_list_panels": int(composition["panels"].min()),
            "max_list_panels": int(composition["panels"].max()),
            "n_lists_5_participants": int((composition["participants"] == 5).sum()),
            "n_lists_6_participants": int((composition["participants"] == 6).sum()),
        }
    )


def paper_design(seed: int = 0) -> Design:
    """The paper's design: all 256 conv5 units, fc8 units 0..994 (it omitted five units; which
    ones it does not say), a seeded random half of fc6's 4,096 units, 64 lists, 333 people."""
    spec = PAPER_DESIGN
    rng = np.random.default_rng(seed)
    fc6 = np.sort(rng.choice(spec["fc6_units"], spec["units"]["fc6"], replace=False))
    units = {
        "conv5": range(spec["units"]["conv5"]),
        "fc8": range(spec["units"]["fc8"]),
        "fc6": fc6.tolist(),
    }
    return design_experiment(units, spec["n_lists"], spec["n_participants"], seed=seed)


# --------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------


def read_responses(path: str | os.PathLike, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read a response CSV (columns :data:`RESPONSE_COLUMNS`) and check it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no response file at {path}; give the path of a CSV with "
            f"columns {', '.join(RESPONSE_COLUMNS)}"
        )
    table = pd.read_csv(
        path,
        dtype={"participant": str, "layer": str, "label": str, "yes": str},
        keep_default_na=False,
    )
    return check_responses(table, units, source=str(path))


def check_responses(
    table: pd.DataFrame, units: pd.DataFrame | None = None, *, source: str = "the response table"
) -> pd.DataFrame:
    """A clean copy of a response table: ``yes`` as bool, ``unit`` and ``list`` as int,
    ``label`` as stripped text. With ``units`` (a table with ``layer`` and ``unit``
    columns, e.g. the classes table), every panel must be one of them."""
    missing = [c for c in RESPONSE_COLUMNS if c not in table.columns]
    if missing:
        raise BehaviourError(
            f"{source} lacks the columns {missing}; a response table needs "
            f"{', '.join(RESPONSE_COLUMNS)} (one row per participant and panel; see "
            "data/README.md, 'Behavioural responses')"
        )
    out = table[list(RESPONSE_COLUMNS)].copy()
    out["participant"] = out["participant"].astype(str)
    out["layer"] = out["layer"].astype(str)
    out["label"] = out["label"].fillna("").astype(str).str.strip()
    out["unit"] = _integers(out["unit"], "unit", source)
    out["list"] = _integers(out["list"], "list", source)
    out["yes"] = _yes_no(out["yes"], source)
    repeated = out.duplicated(["participant", "layer", "unit"], keep=False)
    if repeated.any():
        first = out[repeated].iloc[0]
        raise BehaviourError(
            f"{source}: participant {first['participant']} answered {first['layer']} unit "
            f"{first['unit']} more than once ({int(repeated.sum())} such rows); keep one "
            "response per participant and panel"
        )
    if units is not None:
        known = set(zip(units["layer"].astype(str), units["unit"].astype(int), strict=False))
        unknown = sorted(
            {(lay, u) for lay, u in zip(out["layer"], out["unit"], strict=False)} - known
        )
        if unknown:
            shown = ", ".join(f"{lay} {u}" for lay, u in unknown[:5])
            raise BehaviourError(
                f"{source} has responses for {len(unknown)} panels with no known unit "
                f"({shown}{' ...' if len(unknown) > 5 else ''}); check the layer names and unit "
                "numbers, or give the classes of those units"
            )
    return out.reset_index(drop=True)


def _integers(column: pd.Series, name: str, source: str) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        raise BehaviourError(
            f"{source}: column {name!r} must hold whole numbers; row "
            f"{int(np.flatnonzero(bad.to_numpy())[0])} holds "
            f"{column[bad].iloc[0]!r}"
        )
    return values.astype(np.int64)


def _yes_no(column: pd.Series, source: str) -> pd.Series:
    text = column.astype(str).str.strip().str.lower()
    bad = ~text.isin(_YES | _NO)
    if bad.any():
        raise BehaviourError(
            f"{source}: column 'yes' must be yes/no (or true/false, 1/0); row "
            f"{int(np.flatnonzero(bad.to_numpy())[0])} holds {column[bad].iloc[0]!r}"
        )
    return text.isin(_YES)


# --------------------------------------------------------------------------------------
# Label matching
# --------------------------------------------------------------------------------------


def normalise_label(text: str) -> str:
    """Lower case, every run of other characters than letters and digits one space."""
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


class Synonyms:
    """Map free text to groups of rough synonyms.

    The table has rows ``phrase,group`` (a phrase may belong to several groups). A text
    is looked up whole; failing that it is split at ``,``, ``/``, ``;`` and the word
    ``or``, and each part is looked up whole, then word by word (longest phrases first,
    plural ``-s``/``-es`` dropped). A part nothing in the table matches stands for itself
    (without a plural -s), so identical unknown words still agree. Two texts agree when their groups overlap.
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table: dict[str, frozenset[str]] = {}
        for phrase, groups in table.items():
            key = normalise_label(phrase)
            self.table[key] = self.table.get(key, frozenset()) | frozenset(groups)
        self._longest = max((len(p.split()) for p in self.table), default=1)

    @classmethod
    def from_csv(cls, path: str | os.PathLike | None = None) -> Synonyms:
        """Read a ``phrase,group`` CSV; without a path, the Fashion-MNIST table shipped
        with the package (``compendium/data/synonyms_fashion_mnist.csv``)."""
        if path is None:
            handle = (
                resources.files("compendium").joinpath("data/synonyms_fashion_mnist.csv").open()
            )
        else:
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"no synonym table at {path}; give a CSV with columns phrase,group"
                )
            handle = open(path, newline="")
        with handle:
            rows = [row for row in csv.reader(line for line in handle if not line.startswith("#"))]
        if not rows or [c.strip() for c in rows[0][:2]] != ["phrase", "group"]:
            raise BehaviourError(
                f"synonym table {path or 'shipped'}: the first line must be "
                "the header 'phrase,group'"
            )
        table: dict[str, list[str]] = {}
        for row in rows[1:]:
            if len(row) >= 2 and row[0].strip():
                table.setdefault(row[0], []).append(row[1].strip())
        return cls(table)

    def groups(self, text: str) -> frozenset[str]:
        """The groups a label or class name belongs to (empty for an empty text)."""
        whole = normalise_label(text)
        if not whole:
            return frozenset()
        if whole in self.table:
            return self.table[whole]
        found: set[str] = set()
        for part in re.split(r"[,/;]|\bor\b", str(text).lower()):
            part = normalise_label(part)
            if part:
                found |= self._part_groups(part)
        return frozenset(found)

    def _part_groups(self, part: str) -> set[str]:
        if part in self.table:
            return set(self.table[part])
        words, found, i, matched = part.split(), set(), 0, False
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                hit = self._lookup(" ".join(words[i : i + n]))
                if hit is not None:
                    found |= hit
                    i, matched = i + n, True
                    break
            else:
                i += 1
        return found if matched else {_singular(part)}

    def _lookup(self, phrase: str) -> frozenset[str] | None:
        for candidate in (phrase, re.sub(r"es$", "", phrase), re.sub(r"s$", "", phrase)):
            if candidate in self.table:
                return self.table[candidate]
        return None

    def agree(self, a: str, b: str) -> bool:
        """Whether two texts name the same rough thing."""
        return bool(self.groups(a) & self.groups(b))


def default_synonyms(class_names: Sequence[str], path: str | os.PathLike | None = None) -> Synonyms:
    """The synonym table to use: the file at ``path`` if given; else the shipped
    Fashion-MNIST table for Fashion-MNIST's classes; else an empty table, in which a label
    matches a class when it repeats one of the class's comma-separated names."""
    from compendium.inputs.datasets import FASHION_MNIST_CLASSES

    if path:
        return Synonyms.from_csv(path)
    if list(class_names) == list(FASHION_MNIST_CLASSES):
        return Synonyms.from_csv()
    return Synonyms({})


def _singular(phrase: str) -> str:
    """Drop a final plural -s (not -ss) so that 'apples' and 'apple' agree."""
    return (
        phrase[:-1]
        if len(phrase) > 3 and phrase.endswith("s") and not phrase.endswith("ss")
        else phrase
    )


# --------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------


def unit_judgements(
    responses: pd.DataFrame, classes: pd.DataFrame, synonyms: Synonyms, threshold: float = 0.8
) -> pd.DataFrame:
    """One row per panel: responses, share of yes, whether it passes ``threshold``, the
    consensus label groups, and how the labels compare with each other and with the
    unit's classes. ``classes`` has columns ``layer``, ``unit``, ``top_class`` and
    ``ccmas_class`` (class names)."""
    if not 0 < threshold <= 1:
        raise BehaviourError(f"threshold must be in (0, 1], not {threshold}")
    needed = {"layer", "unit", "top_class", "ccmas_class"}
    if not needed <= set(classes.columns):
        raise BehaviourError(
            f"the classes table needs columns {sorted(needed)}; it has {sorted(classes.columns)}"
        )
    responses = check_responses(responses, classes)
    info = classes.assign(
        layer=classes["layer"].astype(str), unit=classes["unit"].astype(int)
    ).set_index(["layer", "unit"])
    rows = []
    for (layer, unit), group in responses.groupby(["layer", "unit"], sort=False):
        row = {"layer": layer, "unit": int(unit), "n": len(group), "n_yes": int(group["yes"].sum())}
        row["share_yes"] = row["n_yes"] / row["n"]
        row["consistent"] = row["share_yes"] >= threshold - 1e-9
        top, ccmas = info.loc[(layer, unit), ["top_class", "ccmas_class"]]
        row.update(top_class=top, ccmas_class=ccmas)
        labels = [g for g in (synonyms.groups(t) for t in group.loc[group["yes"], "label"]) if g]
        row.update(_consensus(labels, synonyms.groups(str(top)), synonyms.groups(str(ccmas))))
        rows.append(row)
    return pd.DataFrame(rows)


def _consensus(
    labels: list[frozenset[str]], top: frozenset[str], ccmas: frozenset[str]
) -> dict[str, object]:
    """The most named group(s) among a panel's yes-labels, and the agreement measures."""
    if not labels:
        return {
            "consensus": "",
            "labels": 0,
            "label_agreement": np.nan,
            "matches_top_class": np.nan,
            "matches_ccmas": np.nan,
        }
    counts = Counter(group for groups in labels for group in groups)
    best = max(counts.values())
    consensus = frozenset(g for g, c in counts.items() if c == best)
    agreement = float(np.mean([bool(groups & consensus) for groups in labels]))
    return {
        "consensus": " / ".join(sorted(consensus)),
        "labels": len(labels),
        "label_agreement": agreement,
        "matches_top_class": float(bool(consensus & top)),
        "matches_ccmas": float(bool(consensus & ccmas)),
    }


def table1(
    responses: pd.DataFrame,
    classes: pd.DataFrame,
    synonyms: Synonyms,
    threshold: float = 0.8,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The paper's Table 1 from a response table, one row per layer, in percent.

    Columns: ``yes``, ``units_80``, ``overlap_humans``, ``overlap_top_class``,
    ``overlap_ccmas`` (see :data:`TABLE1_COLUMNS`), each with a ``_se`` standard error, and
    the counts ``participants``, ``responses``, ``units``, ``units_consistent``.
    """
    responses = check_responses(responses, classes)
    judged = unit_judgements(responses, classes, synonyms, threshold)
    order = list(layers) if layers is not None else _layer_order(judged["layer"])
    rows = {}
    for layer in order:
        mine = responses[responses["layer"] == layer]
        units = judged[judged["layer"] == layer]
        if units.empty:
            raise BehaviourError(
                f"no responses for layer {layer!r}; the responses cover "
                f"{', '.join(_layer_order(judged['layer']))}"
            )
        per_person = mine.groupby("participant")["yes"].mean()
        good = units[units["consistent"]]
        row = {
            "yes": 100 * mine["yes"].mean(),
            "yes_se": 100 * _se(per_person),
            "units_80": 100 * units["consistent"].mean(),
            "units_80_se": 100 * _binomial_se(units["consistent"]),
        }
        for name, column in (
            ("overlap_humans", "label_agreement"),
            ("overlap_top_class", "matches_top_class"),
            ("overlap_ccmas", "matches_ccmas"),
        ):
            values = good[column].dropna().astype(float)
            row[name] = 100 * values.mean() if len(values) else np.nan
            row[f"{name}_se"] = 100 * (
                _se(values) if name == "overlap_humans" else _binomial_se(values)
            )
        row.update(
            participants=int(mine["participant"].nunique()),
            responses=len(mine),
            units=len(units),
            units_consistent=len(good),
        )
        rows[layer] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "layer"
    return table


def format_table1(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1's five columns as 'value (±error)' text, one row per layer, with the
    column titles of :data:`TABLE1_COLUMNS`; a missing value shows as a dash."""
    out = {}
    for column, title in TABLE1_COLUMNS.items():
        values = table[column] if column in table else pd.Series(np.nan, index=table.index)
        errors = table.get(f"{column}_se", pd.Series(np.nan, index=table.index))
        out[title] = [
            "–" if pd.isna(v) else f"{v:.1f}" + ("" if pd.isna(e) else f" (±{e:.1f})")
            for v, e in zip(values, errors, strict=False)
        ]
    return pd.DataFrame(out, index=table.index)


def fig5_examples(judged: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panels like the paper's Fig. 5: up to ``n`` units every judge called an object and
    up to ``n`` no judge did, one per layer first (layers in the paper's order)."""
    order = judged.assign(
        _rank=judged["layer"].map(
            lambda layer: (
                ("conv5", "fc6", "fc7", "fc8").index(layer)
                if layer in ("conv5", "fc6", "fc7", "fc8")
                else 9
            )
        )
    )
    order = order.sort_values(["_rank", "unit"]).drop(columns="_rank")

    def pick(rows: pd.DataFrame) -> pd.DataFrame:
        first = rows.groupby("layer", sort=False).head(1)
        return pd.concat([first, rows.drop(first.index)]).head(n)

    return pick(order[order["share_yes"] == 1]), pick(order[order["share_yes"] == 0])


def caption(row: Mapping[str, Any]) -> str:
    """A panel's caption: unit, share of yes, the majority label and the two classes."""
    said = f"label '{row['consensus']}'" if row["consensus"] else "no label"
    return (
        f"{row['layer']} unit {row['unit']}: {row['share_yes']:.0%} yes, {said}; "
        f"most active image: {row['top_class']}; CCMAS class: {row['ccmas_class']}"
    )


def analyse(
    responses: pd.DataFrame | None,
    classes: pd.DataFrame,
    synonyms: Synonyms,
    threshold: float = 0.8,
    layers: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`unit_judgements` and :func:`table1` together; with no responses (None), two
    empty tables with their columns, so a page can still show the paper's numbers."""
    if responses is not None:
        return (
            unit_judgements(responses, classes, synonyms, threshold),
            table1(responses, classes, synonyms, threshold, layers),
        )
    judged = pd.DataFrame(
        columns=[
            "layer",
            "unit",
            "n",
            "n_yes",
            "share_yes",
            "consistent",
            "top_class",
            "ccmas_class",
            "consensus",
            "labels",
            "label_agreement",
            "matches_top_class",
            "matches_ccmas",
        ]
    )
    columns = [c for name in TABLE1_COLUMNS for c in (name, f"{name}_se")]
    table = pd.DataFrame(
        columns=[*columns, "participants", "responses", "units", "units_consistent"]
    )
    return judged, table.rename_axis("layer")


def _layer_order(layers: pd.Series) -> list[str]:
    present = list(dict.fromkeys(layers.astype(str)))
    known = [layer for layer in ("conv5", "fc6", "fc7", "fc8") if layer in present]
    return known + [layer for layer in present if layer not in known]


def _se(values: pd.Series) -> float:
    values = pd.Series(values, dtype=float).dropna()
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan


def _binomial_se(values: pd.Series) -> float:
    values = pd.Series(values, dtype=float).dropna()
    if len(values) == 0:
        return np.nan
    p = values.mean()
    return float(np.sqrt(p * (1 - p) / len(values)))
