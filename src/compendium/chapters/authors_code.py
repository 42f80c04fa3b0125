"""Appendix A of the book: how much each of the eight ways in which the authors' public code
departs from the spec changes this run's numbers.

`unit_tables` measures every chosen unit the spec's way (the table chapter 2 shows, from
`compendium.measures.tables`) and each of the authors' ways
(`compendium.measures.authors_code`), one way at a time and facts 1-5 together, as one long
table with a ``way`` column; it is cached under ``data/cache/authors_code``.
`difference_table` turns it into the appendix's table: for each difference and each measure
it affects, how many units change, by how much, and how many change verdict (`VERDICTS`).
The ``describe_*`` functions write the page's findings from those numbers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compendium import __version__
from compendium.activations.reader import open_activations
from compendium.chapters import paper
from compendium.measures import authors_code as ac
from compendium.measures import tables
from compendium.util.cache import cache_key
from compendium.util.errors import CompendiumError
from compendium.util.files import write_table

#: The spec's rows in `unit_tables`.
SPEC = "spec"

#: Each difference (the spec's fact number, or a reading of it): what the authors' code does
#: and what the spec does instead.
DIFFERENCES = {
    "1": (
        "recall at 100% precision read at rank 1 (the test 'precision <= 1' always passes)",
        "the largest recall at a threshold where precision is 1",
    ),
    "2": (
        "recall at 95% precision read where precision first falls to .95 or below; 0 if "
        "it never does",
        "the largest recall at a threshold where precision is at least .95",
    ),
    "3": ("specificity 1 - FP/N (all images)", "specificity 1 - FP/N(not A)"),
    "4": (
        "every rank a threshold: tied activations split in an arbitrary (here seeded random) order",
        "thresholds at the distinct activations: tied images fall on the same side",
    ),
    "5": (
        "per-class statistics for the first 10 classes met walking up from rank 100",
        "precision and informedness over every class, the recalls for the top class",
    ),
    "6": (
        "CCMAS against the pooled mean of every other image (the authors' and the spec's "
        "way); Morcos et al. average the other classes' means (shown)",
        "the pooled mean",
    ),
    "7": (
        "a convolutional map summarised by its spatial maximum; Morcos et al. take the "
        "spatial mean (shown)",
        "the spatial maximum, as the authors' files",
    ),
    "8": (
        "localist test over 1000 hard-coded classes, the last that passes kept; a class "
        "without images passes (every one of its none is above the rest)",
        "the classes of the data",
    ),
    "8 (empty skipped)": (
        "the same, reading that a class without images fails",
        "the classes of the data",
    ),
    "1-5": ("facts 1 to 5 together: the ranked measures as the authors' code computes them", ""),
}

#: The ranked ways of `compendium.measures.authors_code` behind each difference.
RANKED_WAYS = {
    "1": ac.Way(recall_p100="first_rank"),
    "2": ac.Way(recall_p95="first_drop"),
    "3": ac.Way(specificity="all"),
    "4": ac.Way(thresholds="ranks"),
    "5": ac.Way(classes="scanned"),
    "1-5": ac.AUTHORS,
}

#: The measures each difference changes (``{small}``/``{large}``: the top-N sizes).
AFFECTED = {
    "1": ["recall_p100"],
    "2": ["recall_p95"],
    "3": ["max_informedness", "mi_class", "mi_recall", "mi_specificity", "mi_false_alarm"],
    "4": [
        "top_class",
        "precision_{small}",
        "precision_{large}",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_recall",
        "mi_specificity",
        "mi_false_alarm",
    ],
    "5": [
        "precision_{small}",
        "precision_{large}",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_class",
    ],
    "6": ["ccmas"],
    "7": [
        "localist",
        "precision_{small}",
        "ccmas",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_false_alarm",
    ],
    "8": ["localist"],
    "8 (empty skipped)": ["localist"],
    "1-5": [
        "precision_{small}",
        "recall_p100",
        "recall_p95",
        "max_informedness",
        "mi_recall",
        "mi_specificity",
        "mi_false_alarm",
    ],
}


@dataclass(frozen=True)
class Verdict:
    """A reading of one measure as "detector" or not."""

    label: str
    test: Callable[[pd.Series], pd.Series]


#: The verdicts whose flips the table counts: the localist test, Zhou et al.'s precision
#: criterion (> .75 of the top 60), the paper's CCMAS count (> .9), a recall of 1 at perfect
#: precision (a localist unit) and a maximum informedness of at least .9.
VERDICTS = {
    "localist": Verdict("localist", lambda v: v.astype(bool)),
    "precision_60": Verdict("> .75", lambda v: v > 0.75),
    "ccmas": Verdict("> .9", lambda v: v > 0.9),
    "recall_p100": Verdict("= 1", lambda v: v >= 1),
    "max_informedness": Verdict(">= .9", lambda v: v >= 0.9),
}

#: Two values differ when they are further apart than this (rounding of equal numbers).
TOLERANCE = 1e-9

#: Bump to recompute the cached tables when the computation changes.
CACHE_VERSION = 1


class AppendixParameterError(CompendiumError):
    """A parameter of the appendix that cannot be used (the message says which values can)."""


# --- every unit, every way ---------------------------------------------------------------------


def unit_tables(
    path: str | os.PathLike,
    selection: Mapping[str, slice],
    *,
    top: Sequence[int] = (60, 100),
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """One row per (way, layer, unit): the spec's measures (``way`` = `SPEC`), the ranked
    measures of each of `RANKED_WAYS`, CCMAS by class means (fact 6), localist selectivity
    over 1000 classes in its two readings (fact 8) and, for every chosen layer whose file
    holds a spatial mean, the spec's measures of that mean (fact 7). `seed` orders ties for
    fact 4. With `cache_dir`, the spec's tables are those chapter 2 caches (under
    ``measures/``) and the rest is cached under ``authors_code/``."""
    top = _checked_top(top)
    measures_cache = Path(cache_dir) / "measures" if cache_dir else None
    spec = tables.measure_selection(
        path, selection, cache_dir=measures_cache, top=top, progress=False
    )
    parts = [spec.assign(way=SPEC), _authors_rows(path, selection, top, seed, cache_dir)]
    for layer, units in _layers_with_mean(path, selection).items():
        mean = tables.measure_layers(
            path, [layer], units, summary="mean", cache_dir=measures_cache, top=top, progress=False
        )
        parts.append(mean.assign(way="7"))
    table = pd.concat(parts, ignore_index=True)
    first = ["way", "layer", "unit"]
    return table[first + [c for c in table.columns if c not in first]]


def _checked_top(top: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(top) if isinstance(top, Sequence) and not isinstance(top, str) else ()
    if len(sizes) != 2 or not all(isinstance(n, int | np.integer) and n > 0 for n in sizes):
        raise AppendixParameterError(
            f"top_n must be two positive whole numbers such as [60, 100]; got {top!r}"
        )
    return tuple(int(n) for n in sizes)


def _layers_with_mean(path, selection: Mapping[str, slice]) -> dict[str, slice]:
    """The chosen layers whose file also holds the spatial mean of each map."""
    with open_activations(path) as source:
        return {
            layer: units for layer, units in selection.items() if "mean" in source.summaries(layer)
        }


def layers_without_mean(path: str | os.PathLike, selection: Mapping[str, slice]) -> list[str]:
    """The chosen convolutional layers whose file holds only the spatial maximum (the
    authors' files): fact 7 cannot be shown for them."""
    with open_activations(path) as source:
        return [
            layer
            for layer in selection
            if source.layer_info(layer).get("kind") == "conv"
            and "mean" not in source.summaries(layer)
        ]


def _authors_rows(path, selection, top, seed: int, cache_dir) -> pd.DataFrame:
    """The rows of every way but the spec's and fact 7's, cached."""
    cached = _cache_file(path, selection, top, seed, cache_dir) if cache_dir else None
    if cached is not None and cached.exists():
        return pd.read_csv(cached)
    with open_activations(path) as source:
        labels = np.asarray(source.labels)
        parts = [
            _layer_rows(np.asarray(source.activations(layer)[:, units]), labels, top, seed).assign(
                layer=layer, unit=lambda t, start=units.start: t["unit"] + start
            )
            for layer, units in selection.items()
        ]
    table = pd.concat(parts, ignore_index=True)
    if cached is not None:
        write_table(table, cached, index=False)
    return table


def _layer_rows(x: np.ndarray, labels: np.ndarray, top, seed: int) -> pd.DataFrame:
    """Every way but the spec's for one layer's units (numbered from 0). The ranked ways run
    on the classes that have images, renumbered; class columns keep the file's numbers."""
    present, dense = np.unique(labels, return_inverse=True)
    ways = ac.measure_ways(x, dense, len(present), RANKED_WAYS, top=top, seed=seed)
    parts = []
    for name, table in ways.items():
        for column in table.columns:
            if column.endswith("_class"):
                table[column] = present[table[column].to_numpy()]
        parts.append(table.assign(way=name))
    ccmas = ac.ccmas_ways(x, dense, len(present))
    parts.append(pd.DataFrame({"ccmas": ccmas["ccmas_classmean"], "way": "6"}))
    for name, empty in (("8", "vacuous"), ("8 (empty skipped)", "skip")):
        localist = ac.localist_hardcoded(x, labels, empty=empty)
        parts.append(localist.assign(way=name))
    return pd.concat([p.reset_index() for p in parts], ignore_index=True)


def _cache_file(path, selection, top, seed, cache_dir) -> Path:
    resolved = Path(path).resolve()
    files = sorted(resolved.glob("*.h5")) if resolved.is_dir() else [resolved]
    key = {
        "files": [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files],
        "selection": {layer: [s.start, s.stop] for layer, s in selection.items()},
        "top": list(top),
        "seed": seed,
        "version": [__version__, CACHE_VERSION],
    }
    return Path(cache_dir) / "authors_code" / f"{Path(path).stem}-{cache_key(key)}.csv"


# --- how much each difference changes ----------------------------------------------------------


def affected(fact: str, top: Sequence[int] = (60, 100)) -> list[str]:
    """The measures `fact` changes, with the top-N sizes filled in."""
    small, large = top
    return [m.format(small=small, large=large) for m in AFFECTED[fact]]


def difference_table(units: pd.DataFrame, top: Sequence[int] = (60, 100)) -> pd.DataFrame:
    """For each difference present in `units` (`unit_tables`) and each measure it affects:
    the layers and number of units compared, how many change, the median change among them
    and the largest, the mean by the spec and by the authors' way, and for a measure with a
    verdict (`VERDICTS`) how many units pass it each way and how many change verdict."""
    spec = units[units["way"] == SPEC].set_index(["layer", "unit"])
    rows = []
    for fact in DIFFERENCES:
        other = units[units["way"] == fact].set_index(["layer", "unit"])
        if other.empty:
            continue
        for measure in affected(fact, top):
            a, b = spec[measure].align(other[measure], join="inner")
            rows.append({"fact": fact, "measure": measure, **compare(a, b, measure)})
    table = pd.DataFrame(rows)
    counts = [c for c in ("passes_spec", "passes_authors", "flips") if c in table]
    return table.astype({c: "Int64" for c in counts})


def compare(spec: pd.Series, other: pd.Series, measure: str) -> dict[str, object]:
    """One row of `difference_table`: `spec` and `other` are one measure of the same units."""
    layers = list(dict.fromkeys(spec.index.get_level_values("layer")))
    row: dict[str, object] = {"layers": ", ".join(layers), "units": int(spec.size)}
    if measure.endswith("_class"):
        changed = spec.to_numpy() != other.to_numpy()
        row.update(changed=int(changed.sum()))
    else:
        a, b = spec.astype(float).to_numpy(), other.astype(float).to_numpy()
        diff = np.abs(b - a)
        changed = (np.isnan(a) != np.isnan(b)) | (diff > TOLERANCE)
        moved = diff[changed & ~np.isnan(diff)]
        row.update(
            changed=int(changed.sum()),
            median_change=float(np.median(moved)) if moved.size else 0.0,
            max_change=float(moved.max()) if moved.size else 0.0,
            mean_spec=float(np.nanmean(a)) if np.isfinite(a).any() else math.nan,
            mean_authors=float(np.nanmean(b)) if np.isfinite(b).any() else math.nan,
        )
    verdict = VERDICTS.get(measure)
    if verdict is not None:
        passes_a, passes_b = verdict.test(spec), verdict.test(other)
        row.update(
            verdict=verdict.label,
            passes_spec=int(passes_a.sum()),
            passes_authors=int(passes_b.sum()),
            flips=int((passes_a.to_numpy() != passes_b.to_numpy()).sum()),
        )
    return row


#: Headings of `difference_table`'s columns on the page.
HEADINGS = {
    "fact": "fact",
    "measure": "measure",
    "layers": "layers",
    "units": "units",
    "changed": "units that change",
    "median_change": "median change (of those)",
    "max_change": "largest change",
    "mean_spec": "mean: spec",
    "mean_authors": "mean: authors' way",
    "verdict": "verdict",
    "passes_spec": "pass: spec",
    "passes_authors": "pass: authors' way",
    "flips": "verdict flips",
}


def value_changes(table: pd.DataFrame) -> pd.DataFrame:
    """The part of `difference_table` about values, with the page's headings."""
    columns = ["fact", "measure", "units", "changed", "median_change", "max_change"]
    columns += ["mean_spec", "mean_authors"]
    return table.reindex(columns=columns).rename(columns=HEADINGS)


def verdict_changes(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `difference_table` with a verdict, with the page's headings."""
    rows = table[table.get("verdict", pd.Series(index=table.index, dtype=object)).notna()]
    columns = ["fact", "measure", "units", "verdict", "passes_spec", "passes_authors", "flips"]
    return rows.reindex(columns=columns).rename(columns=HEADINGS)


def differences_legend() -> pd.DataFrame:
    """What each difference is: the authors' code against the spec (about the method)."""
    return pd.DataFrame(
        [
            {"fact": f, "the authors' code": code, "the spec": spec}
            for f, (code, spec) in DIFFERENCES.items()
        ]
    )


def recall_p100_beside_paper(units: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Per layer, the best recall at perfect precision by the spec and by the authors' code
    (facts 1-5), with the paper's reported best beside them."""
    best = units.groupby(["way", "layer"], sort=False)["recall_p100"].max()
    layers = list(dict.fromkeys(units.loc[units["way"] == SPEC, "layer"]))
    this_run = pd.DataFrame({"recall_p100": best[SPEC].reindex(layers)})
    table = paper.beside_paper(this_run, reported, key="layer", wide=True)
    table.insert(1, ("recall_p100", "authors' code"), best["1-5"].reindex(layers))
    return table.rename(columns={"this run": "spec", "recall_p100": "best recall_p100"})


# --- the page's findings -----------------------------------------------------------------------


def _row(table: pd.DataFrame, fact: str, measure: str) -> pd.Series | None:
    rows = table[(table["fact"] == fact) & (table["measure"] == measure)]
    return None if rows.empty else rows.iloc[0]


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _units(n: int) -> str:
    return f"{n:,} unit" + ("" if n == 1 else "s")


def _change(row: pd.Series) -> str:
    """'for 12 of 2,112 units (median change .031, largest .2)', or 'for none of ...'."""
    if row["changed"] == 0:
        return f"for none of the {row['units']:,} units"
    text = f"for {row['changed']:,} of {_units(int(row['units']))}"
    if pd.notna(row.get("median_change")):
        text += f" (median change {row['median_change']:.3g}, largest {row['max_change']:.3g})"
    return text


def _flips(row: pd.Series) -> str:
    if pd.isna(row.get("verdict")):
        return ""
    return (
        f"; {_units(int(row['passes_spec']))} pass '{row['verdict']}' by the spec and "
        f"{row['passes_authors']:,} the authors' way ({row['flips']:,} change verdict)"
    )


def describe_first_rank(
    table: pd.DataFrame, units: pd.DataFrame, labels: np.ndarray, reported: pd.DataFrame
) -> str:
    """Fact 1: the authors' recall at perfect precision is 1/N_A; the spec's; and why the
    paper's reported best cannot be such a number."""
    row = _row(table, "1", "recall_p100")
    if row is None:
        return ""
    spec = units[units["way"] == SPEC].set_index(["layer", "unit"])
    first = units[units["way"] == "1"].set_index(["layer", "unit"])
    present, counts = np.unique(labels, return_counts=True)
    size = pd.Series(counts, index=present)
    one_over = 1 / size.reindex(spec["top_class"]).to_numpy()
    values = first["recall_p100"].reindex(spec.index).to_numpy()
    n_one_over = int(np.isclose(values, one_over).sum())
    best_unit = spec["recall_p100"].idxmax()
    paper_best = _paper_number(reported, "recall_p100", source="Sec. 3.1")
    n_images = _paper_number(reported, "n_images")
    n_classes = _paper_number(reported, "n_classes")
    return (
        f"**Fact 1.** Read the authors' way, recall at perfect precision is 1/N_A for "
        f"{n_one_over:,} of the {_units(int(row['units']))}: the top image counted alone "
        f"({values.min():.4f} to {values.max():.4f} here, for classes of {counts.min():,} "
        f"to {counts.max():,} images). By the spec's definition {_units(int((spec['recall_p100'] > one_over + TOLERANCE).sum()))} "
        f"score more, the best {spec['recall_p100'].max():.3f} "
        f"({best_unit[0]}.{best_unit[1]}). A value of {_paper_decimal(paper_best)}, the "
        f"paper's best, would need a class of at most {math.floor(1 / paper_best):,} images "
        f"from that function; the paper's {n_images:,.0f} images of {n_classes:,.0f} classes "
        f"average {n_images / n_classes:,.0f} a class (1/N_A about {n_classes / n_images:.4f})."
    )


def describe_first_drop(table: pd.DataFrame, units: pd.DataFrame) -> str:
    """Fact 2: how the first-drop recall at .95 precision compares with the best."""
    row = _row(table, "2", "recall_p95")
    if row is None:
        return ""
    spec, drop = _pair(units, "2", "recall_p95")
    lower = int((drop < spec - TOLERANCE).sum())
    higher = int((drop > spec + TOLERANCE).sum())
    never = int(((drop == 0) & (spec >= 1 - TOLERANCE)).sum())
    reaches = int((spec > 0).sum())
    direction = (
        ""
        if lower + higher == 0
        else ", each time downwards"
        if higher == 0
        else f", {lower:,} times downwards and {higher:,} upwards"
    )
    return (
        f"**Fact 2.** Reading recall at .95 precision where precision first falls "
        f"changes it {_change(row)}{direction}: the mean goes from {row['mean_spec']:.3f} "
        f"to {row['mean_authors']:.3f}. By the spec {_units(reaches)} reach .95 precision "
        f"at some threshold; {never:,} of them score 0.0 the authors' way where the spec "
        f"gives 1.0, as their precision never falls to .95 before the last image of the "
        f"class."
    )


def describe_fp_over_n(table: pd.DataFrame, labels: np.ndarray, reported: pd.DataFrame) -> str:
    """Fact 3: dividing false positives by N instead of N(not A)."""
    row = _row(table, "3", "max_informedness")
    if row is None:
        return ""
    moved = _row(table, "3", "mi_class")
    _, counts = np.unique(labels, return_counts=True)
    share = 1 - counts / labels.size  # N(not A) / N for each class
    paper_classes = _paper_number(reported, "n_classes")
    spread = (
        f"{share.min():.2f}"
        if share.max() - share.min() < 0.005
        else f"{share.min():.2f} to {share.max():.2f}"
    )
    return (
        f"**Fact 3.** With specificity 1 - FP/N a false positive costs N(not A)/N of what it "
        f"costs by the spec: {spread} for this run's {counts.size} classes, about "
        f"{(paper_classes - 1) / paper_classes:.3f} for a class of average size among the "
        f"paper's {paper_classes:,.0f}. Maximum informedness changes {_change(row)}, its "
        f"mean from {row['mean_spec']:.3f} to {row['mean_authors']:.3f}"
        + (f", and the best class moves for {moved['changed']:,}" if moved is not None else "")
        + f"{_flips(row)}."
    )


def describe_ties(table: pd.DataFrame, units: pd.DataFrame, n_images: int) -> str:
    """Fact 4: how many activations are tied, and what the arbitrary order moves."""
    rows = table[table["fact"] == "4"]
    if rows.empty:
        return ""
    ranked = units[units["way"] == "4"]
    tied = ranked.groupby("layer", sort=False)["n_tied"].mean() / n_images
    shares = ", ".join(f"{layer} {share:.0%}" for layer, share in tied.items())
    dead = int((ranked["n_tied"] == n_images).sum())
    changing = rows[rows["changed"] > 0]
    most = changing.sort_values("changed", ascending=False).head(3)
    listed = "; ".join(
        f"{r['measure']}: {r['changed']:,} units"
        + (f", largest change {r['max_change']:.3g}" if pd.notna(r.get("max_change")) else "")
        for _, r in most.iterrows()
    )
    mi = _row(table, "4", "max_informedness")
    return (
        f"**Fact 4.** Share of each unit's images tied with another image, on average: "
        f"{shares}; {_units(dead)} {_verb(dead, 'gives', 'give')} every image the same "
        f"activation, so that {_verb(dead, 'its', 'their')} whole ranking is one tie. Splitting ties in an arbitrary order changes "
        + (f"most often {listed}" if listed else "no measure")
        + (_flips(mi) if mi is not None else "")
        + "."
    )


def describe_scan(table: pd.DataFrame, units: pd.DataFrame, top: Sequence[int] = (60, 100)) -> str:
    """Fact 5: which units the scan from rank 100 can mislead, and what it changes."""
    rows = table[table["fact"] == "5"]
    if rows.empty:
        return ""
    scan = units[units["way"] == "5"]
    spec = units[units["way"] == SPEC]
    large = max(top)
    many = int((spec[f"n_classes_top{large}"] > ac.SCAN_CLASSES).sum())
    missed = int((~scan["top_class_scanned"].astype(bool)).sum())
    if many == 0:
        intro = (
            f"No unit holds more than {ac.SCAN_CLASSES} classes among its top {large} images, "
            f"so the scan takes in every class of each unit's top {large}, the top image's "
            f"among them."
        )
    else:
        intro = (
            f"{_units(many)} {_verb(many, 'holds', 'hold')} more than {ac.SCAN_CLASSES} "
            f"classes among {_verb(many, 'its', 'their')} top {large} images, so the scan "
            f"can leave out one of them there; it leaves out the top image's class for "
            f"{missed:,}."
        )
    changing = rows[rows["changed"] > 0]
    listed = ", ".join(f"{r['measure']} for {r['changed']:,}" for _, r in changing.iterrows())
    if not listed:
        return f"**Fact 5.** {intro} Over the scanned classes alone no number changes."
    return (
        f"**Fact 5.** {intro} Over the scanned classes alone these change: {listed} units "
        f"(a class outside the top {large} cannot be chosen, and the recalls take the best "
        "scanned class)."
    )


def describe_class_means(table: pd.DataFrame, labels: np.ndarray) -> str:
    """Fact 6: pooled against class-mean CCMAS."""
    row = _row(table, "6", "ccmas")
    if row is None:
        return ""
    _, counts = np.unique(labels, return_counts=True)
    return (
        f"**Fact 6.** Averaging the other classes' means instead of pooling their images "
        f"changes CCMAS {_change(row)}{_flips(row)}. The two agree when classes are equal in size; this "
        f"run's hold {counts.min():,} to {counts.max():,} images."
    )


def describe_spatial_mean(table: pd.DataFrame, without_mean: Sequence[str]) -> str:
    """Fact 7: conv units summarised by their spatial mean instead of their maximum."""
    rows = table[table["fact"] == "7"]
    missing = (
        f" The file holds only the spatial maximum of {', '.join(without_mean)}, so the "
        "mean cannot be shown there."
        if without_mean
        else ""
    )
    if rows.empty:
        return (
            f"**Fact 7.** No chosen layer has a spatial mean recorded.{missing}"
            if without_mean
            else ""
        )
    parts = []
    for _, r in rows.iterrows():
        text = f"{r['measure']}: {r['changed']:,} of {r['units']:,} units change"
        if pd.notna(r.get("verdict")):
            text += f", '{r['verdict']}' {r['passes_spec']:,} -> {r['passes_authors']:,}"
        parts.append(text)
    return (
        f"**Fact 7.** The same units of {rows.iloc[0]['layers']} summarised by their spatial "
        f"mean instead of their maximum: " + "; ".join(parts) + "." + missing
    )


def describe_hardcoded(table: pd.DataFrame, labels: np.ndarray, reported: pd.DataFrame) -> str:
    """Fact 8: the localist test over 1000 classes, in both readings, and what it would do
    with the paper's classes."""
    vacuous, skipped = _row(table, "8", "localist"), _row(table, "8 (empty skipped)", "localist")
    if vacuous is None or skipped is None:
        return ""
    empty = ac.HARDCODED_CLASSES - int(np.unique(labels[labels < ac.HARDCODED_CLASSES]).size)
    paper_classes = _paper_number(reported, "n_classes")
    return (
        f"**Fact 8.** Of the {ac.HARDCODED_CLASSES:,} classes the test loops over, "
        f"{empty:,} have no images in this run. If a class without images passes, "
        f"{vacuous['passes_authors']:,} of the {_units(int(vacuous['units']))} come out "
        f"localist (the spec finds {vacuous['passes_spec']:,}); if it fails, "
        f"{skipped['passes_authors']:,} do, and {skipped['flips']:,} change verdict."
        + (
            f" With the paper's {paper_classes:,.0f} classes, all of them with images, both "
            "readings would be the spec's."
            if empty and paper_classes == ac.HARDCODED_CLASSES
            else " Where every class tested has images, both readings are the spec's."
        )
    )


def describe_together(table: pd.DataFrame) -> str:
    """Facts 1-5 together: what the authors' code gives against the spec."""
    rows = table[table["fact"] == "1-5"]
    if rows.empty:
        return ""
    parts = []
    for _, r in rows.iterrows():
        if pd.isna(r.get("mean_spec")):
            continue
        parts.append(f"{r['measure']} {r['mean_spec']:.3f} -> {r['mean_authors']:.3f}")
    flips = rows[rows.get("flips", pd.Series(dtype=float)).fillna(0) > 0]
    flipped = ", ".join(
        f"{r['measure']} '{r['verdict']}' for {r['flips']:,}" for _, r in flips.iterrows()
    )
    return (
        f"**Facts 1-5 together.** Mean over the {rows.iloc[0]['units']:,} units, spec -> "
        f"authors' code: "
        + "; ".join(parts)
        + ". Verdicts change for "
        + (flipped if flipped else "no unit")
        + "."
    )


def _pair(units: pd.DataFrame, way: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    spec = units[units["way"] == SPEC].set_index(["layer", "unit"])[measure]
    other = units[units["way"] == way].set_index(["layer", "unit"])[measure]
    a, b = spec.align(other, join="inner")
    return a.astype(float).to_numpy(), b.astype(float).to_numpy()


def _paper_number(reported: pd.DataFrame, measure: str, source: str = "") -> float:
    rows = reported[(reported["measure"] == measure) & reported["source"].str.startswith(source)]
    if rows.empty:
        raise KeyError(f"the paper's numbers have no {measure}")
    return float(rows["value"].iloc[0])


def _paper_decimal(value: float) -> str:
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


# --- exercises -------------------------------------------------------------------------------


def exercises(table: pd.DataFrame, labels: np.ndarray) -> list:
    """The appendix's exercises, each solution written from `table` (`difference_table`)
    and the run's `labels`: the ceiling of the authors' recall at perfect precision, and the
    difference that flips the most verdicts."""
    from compendium.chapters.exercises import Exercise

    made = []
    first = _row(table, "1", "recall_p100")
    if first is not None:
        sizes = np.bincount(np.asarray(labels, dtype=np.int64))
        sizes = sizes[sizes > 0]
        made.append(
            Exercise(
                label="ex-authors-ceiling",
                title="The ceiling of a recall",
                question=(
                    "By fact 1, the authors' recall at perfect precision is read at the first "
                    "rank only. What is the largest value it can take on this run's images, "
                    "and how do its mean over the units and the spec's mean compare?"
                ),
                solution=(
                    f"At rank 1 the recall is 1/N_A when the top image is of class A, else 0; "
                    f"the smallest class here has {int(sizes.min()):,} images, so the value is "
                    f"at most 1/{int(sizes.min()):,} = {1 / sizes.min():.4f}. Over "
                    f"{int(first['units']):,} units its mean is {first['mean_authors']:.4f}, "
                    f"against {first['mean_spec']:.3f} by the spec; "
                    f"{int(first['changed']):,} units change. A recall that cannot pass "
                    f"{1 / sizes.min():.4f} says nothing about how much of a class a unit "
                    f"catches."
                ),
            )
        )
    flips = table.dropna(subset=["flips"]) if "flips" in table.columns else table.iloc[:0]
    if not flips.empty and flips["flips"].max() > 0:
        top = flips.loc[flips["flips"].astype(int).idxmax()]
        quiet = int((flips["flips"] == 0).sum())
        made.append(
            Exercise(
                label="ex-authors-flips",
                title="The difference that matters most",
                question=(
                    "In the table of verdicts, which difference changes the verdict of the "
                    "most units, and in which direction? How many of the rows change no "
                    "verdict at all?"
                ),
                solution=(
                    f"Fact {top['fact']} on {top['measure']} ({top['verdict']}; the authors' "
                    f"code: {_legend_text(top['fact'])}): "
                    f"{int(top['flips']):,} of {int(top['units']):,} units flip, from "
                    f"{int(top['passes_spec']):,} passing by the spec to "
                    f"{int(top['passes_authors']):,} the authors' way. {quiet:,} of the "
                    f"{len(flips):,} rows change no verdict: {_quiet_rows(quiet, len(flips))}"
                ),
            )
        )
    return made


def _legend_text(fact: str) -> str:
    return DIFFERENCES[fact][0] if fact in DIFFERENCES else "see the table above"


def _quiet_rows(quiet: int, rows: int) -> str:
    if 2 * quiet > rows:
        return "most differences move the numbers without moving a unit across a line."
    return (
        f"the other {rows - quiet:,} move at least one unit across a line, so a count of "
        f"detectors depends on which code computed it."
    )
