"""Chapter "Chance, seeds and untrained networks": is a measure's value more than chance
would give on the same images? (spec ``beyond.md``, "Chance")

Three baselines for every measure of Fig. 3, each from the engine:

* **label permutation**: `compendium.measures.tables.null_layers` shuffles the labels K
  times; per unit a p-value, per layer the units that beat chance after Benjamini-Hochberg
  and the pooled null's 2.5-97.5 percentile band (`chance_summary`, `fig3_band`);
* **the untrained network** (`compendium.methods.controls.record_untrained`): the same
  measures of the same architecture before training, on the same images
  (`compare_networks`: the probability that a trained unit is more selective than an
  untrained one, the A of Vargha & Delaney, 2000);
* **training seeds** (`compendium.methods.controls.seed_recordings`): Fig. 3's statistics
  and the detector counts as mean +- SD over networks that differ only in their seed
  (`seed_statistics`, `seed_counts`).

`chapter_findings` turns the numbers into the chapter's verdicts, and each ``describe_*``
writes a finding from the numbers it is given. The functions at the end serve chapter 2:
the chance band on Fig. 3's panels, a "beats chance" column for its counts table, and
chance precision from the null.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from compendium.chapters import detectors
from compendium.chapters.alexnet import TopN, fig3_panels, layer_distributions, quoted_counts
from compendium.measures import benjamini_hochberg, null_measures
from compendium.measures.tables import NullTables, null_layers
from compendium.util.errors import CompendiumError

__all__ = [
    "ChanceParameterError",
    "agreement_table",
    "ChapterPlan",
    "chance_precision",
    "chance_summary",
    "chance_table",
    "chapter_findings",
    "compare_networks",
    "comparison_distributions",
    "counts_beats_chance",
    "describe_chance",
    "describe_chance_precision",
    "describe_findings",
    "describe_separation",
    "describe_seeds",
    "fig3_band",
    "measure_null",
    "seed_agreement",
    "seed_counts",
    "seed_statistics",
    "selection_null",
    "with_beats_chance",
]

#: Vargha & Delaney's (2000) thresholds of A: .56 small, .64 medium, .71 large.
A_LARGE = 0.71

#: Vargha & Delaney's "medium" difference: two seeds' networks "agree" on a measure when
#: A between them stays within .5 +- (A_MEDIUM - .5).
A_MEDIUM = 0.64

#: Counts of the seeds "vary little" when their SD is under this share of their mean...
COUNT_SHARE = 0.1
#: ... among the counts whose mean is at least this many units (a few units always vary).
COUNT_FLOOR = 20

#: The label of the untrained network's boxes beside a layer's name.
UNTRAINED = "untrained"


class ChanceParameterError(CompendiumError):
    """A parameter of the chapter that cannot be used (the message names the fix)."""


@dataclass(frozen=True)
class ChapterPlan:
    """The chapter's parameters, checked once at the top of the page."""

    layers: tuple[str, ...]
    units: Any
    top: TopN
    n_permutations: int
    permutation_seed: int
    q: float
    seeds: tuple[int, ...]
    seed_epochs: int | None
    seed_n_train: int | None
    untrained_seed: int | None
    include_silent: bool
    memory_gb: float
    threads: int

    @classmethod
    def from_parameters(cls, **values: Any) -> ChapterPlan:
        """The plan from the page's parameters; an error names each bad one."""
        layers = values.get("layers")
        if isinstance(layers, str) or not layers or not all(isinstance(v, str) for v in layers):
            raise ChanceParameterError(
                f"layers must be a list of names, e.g. [fc6]; got {layers!r}"
            )
        seeds = values.get("seeds")
        if not isinstance(seeds, Sequence) or isinstance(seeds, str) or not seeds:
            raise ChanceParameterError(
                f"seeds must be a list of whole numbers, e.g. [0, 1, 2]; got {seeds!r}"
            )
        q = values.get("q", 0.05)
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
            raise ChanceParameterError(
                f"q must be a false-discovery rate between 0 and 1, e.g. 0.05; got {q!r}"
            )
        memory = values.get("memory_gb", 0.5)
        if isinstance(memory, bool) or not isinstance(memory, int | float) or memory <= 0:
            raise ChanceParameterError(
                f"memory_gb must be a positive number, e.g. 0.5; got {memory!r}"
            )
        return cls(
            layers=tuple(layers),
            units=values.get("units"),
            top=TopN.from_parameter(values.get("top_n", [60, 100])),
            n_permutations=_count(values.get("n_permutations", 100), "n_permutations"),
            permutation_seed=_whole(values.get("permutation_seed", 0), "permutation_seed"),
            q=float(q),
            seeds=tuple(_whole(s, "each seed") for s in seeds),
            seed_epochs=_optional(values.get("seed_epochs"), "seed_epochs"),
            seed_n_train=_optional(values.get("seed_n_train"), "seed_n_train"),
            untrained_seed=None
            if values.get("untrained_seed") is None
            else _whole(values["untrained_seed"], "untrained_seed"),
            include_silent=_flag(values.get("include_silent", False), "include_silent"),
            memory_gb=float(memory),
            threads=_count(values.get("threads", 2), "threads"),
        )

    @property
    def measures(self) -> dict[str, str]:
        """Fig. 3's measures (column -> panel title) for the chapter's top-N sizes."""
        return fig3_panels(self.top.sizes)

    @property
    def options(self) -> dict[str, Any]:
        """What the measuring functions of `compendium.measures.tables` get."""
        return {
            "top": self.top.sizes,
            "memory_bytes": int(self.memory_gb * 2**30),
            "progress": False,
            "workers": self.threads,
        }


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ChanceParameterError(f"{name} must be a whole number >= 1; got {value!r}")
    return int(value)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ChanceParameterError(f"{name} must be a whole number >= 0; got {value!r}")
    return int(value)


def _optional(value: Any, name: str) -> int | None:
    return None if value is None else _count(value, name)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ChanceParameterError(f"{name} must be true or false; got {value!r}")
    return bool(value)


# --- the permutation null of a network -----------------------------------------------------


def measure_null(
    path: str | os.PathLike,
    selection: Mapping[str, slice],
    plan: ChapterPlan,
    cache_dir: str | os.PathLike | None = None,
) -> NullTables:
    """`selection_null` with the chapter's settings."""
    return selection_null(
        path,
        selection,
        n_permutations=plan.n_permutations,
        seed=plan.permutation_seed,
        cache_dir=cache_dir,
        **plan.options,
    )


def selection_null(
    path: str | os.PathLike,
    selection: Mapping[str, slice],
    n_permutations: int = 100,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    **options: Any,
) -> NullTables:
    """The measures and the permutation null of each layer's chosen units (`selection`, as
    `compendium.measures.tables.unit_selection` gives it; each layer cached on its own), as
    one table and one band table. `options` go to `permutation_null` (``top``,
    ``memory_bytes``, ``workers``, ...)."""
    parts = [
        null_layers(
            path,
            [layer],
            units,
            n_permutations=n_permutations,
            seed=seed,
            cache_dir=cache_dir,
            **options,
        )
        for layer, units in selection.items()
    ]
    return NullTables(
        pd.concat([p.table for p in parts], ignore_index=True),
        pd.concat([p.band for p in parts], ignore_index=True),
    )


def _kept(table: pd.DataFrame, include_silent: bool) -> pd.DataFrame:
    return detectors.leave_out_silent(table, include_silent).kept


def chance_summary(
    null: NullTables,
    measures: Sequence[str],
    q: float = 0.05,
    include_silent: bool = False,
) -> pd.DataFrame:
    """Per layer and measure: the units counted (silent ones left out unless
    `include_silent`), their median, the pooled null's band and median, and the units whose
    p-value survives Benjamini-Hochberg at `q` (``beats``, and as a share)."""
    kept = _kept(null.table, include_silent)
    band = null.band.set_index(["layer", "measure"])
    rows = []
    for layer in dict.fromkeys(null.table["layer"]):
        units = kept[kept["layer"] == layer]
        for measure in measures:
            beats = int(benjamini_hochberg(units[f"{measure}_p"].to_numpy(float), q).sum())
            chance = band.loc[(layer, measure)]
            rows.append(
                {
                    "layer": layer,
                    "measure": measure,
                    "units": len(units),
                    "median": float(units[measure].median()),
                    "chance_low": float(chance["low"]),
                    "chance_median": float(chance["median"]),
                    "chance_high": float(chance["high"]),
                    "beats": beats,
                    "share": beats / len(units) if len(units) else np.nan,
                }
            )
    return pd.DataFrame(rows)


def chance_table(
    summaries: Mapping[str, pd.DataFrame], panels: Mapping[str, str], layers: Sequence[str]
) -> pd.DataFrame:
    """For the page: per panel (rows) and (network, layer) (columns), the median, the
    chance band in brackets, and the units that beat chance."""
    columns = {}
    for network, summary in summaries.items():
        cells = summary.set_index(["measure", "layer"])
        for layer in layers:
            columns[(network, layer)] = [
                _cell(cells.loc[(measure, layer)]) if (measure, layer) in cells.index else ""
                for measure in panels
            ]
    table = pd.DataFrame(columns, index=list(panels.values()))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def _cell(row: pd.Series) -> str:
    return (
        f"{row['median']:.3f} [{row['chance_low']:.3f}, {row['chance_high']:.3f}] "
        f"{int(row['beats']):,}/{int(row['units']):,}"
    )


def describe_chance(summaries: Mapping[str, pd.DataFrame], precision: str, q: float) -> str:
    """How many units of each network beat chance on precision and on CCMAS, layer by
    layer, and on which measure the fewest do."""
    lines = []
    for network, summary in summaries.items():
        fewest = summary.groupby("measure", sort=False)["share"].mean().idxmin()
        lines.append(
            f"In the {network} network, {_shares(summary, precision)} of the units beat chance "
            f"on precision and {_shares(summary, 'ccmas')} on CCMAS (Benjamini-Hochberg, q = "
            f"{q:g}); the fewest do on `{fewest}` ({_shares(summary, fewest)})."
        )
    return "**This run.** " + " ".join(lines)


def _shares(summary: pd.DataFrame, measure: str) -> str:
    rows = summary[summary["measure"] == measure]
    return ", ".join(f"{r.share:.0%} in {r.layer}" for r in rows.itertuples())


# --- the chance band on Fig. 3 --------------------------------------------------------------


def fig3_band(bands: Mapping[str, pd.DataFrame], measures: Sequence[str]) -> pd.DataFrame:
    """Rows (``measure``, ``layer``, ``low``, ``high``) for `compendium.chapters.plots.box_plots`'
    `band`: each box's chance band. `bands` maps the x label a box is drawn at (a layer, or
    e.g. "fc6 untrained") to that layer's rows of a `NullTables.band`."""
    rows = []
    for label, band in bands.items():
        for _, row in band[band["measure"].isin(list(measures))].iterrows():
            rows.append(
                {"measure": row["measure"], "layer": label, "low": row["low"], "high": row["high"]}
            )
    return pd.DataFrame(rows, columns=["measure", "layer", "low", "high"])


def layer_bands(null: NullTables, suffix: str = "") -> dict[str, pd.DataFrame]:
    """`fig3_band`'s input for one network: its band rows per layer, at the label
    ``layer + suffix``."""
    return {
        f"{layer}{suffix}": null.band[null.band["layer"] == layer]
        for layer in dict.fromkeys(null.band["layer"])
    }


# --- trained against untrained --------------------------------------------------------------


def comparison_distributions(
    tables: Mapping[str, pd.DataFrame],
    measures: Sequence[str],
    include_silent: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Fig. 3's statistics (`layer_distributions`) of several networks' tables side by side:
    each layer's box of the network named ``""`` at the layer's name, the others at
    ``"<layer> <network>"``. Returns the statistics and the boxes' order."""
    parts, order = [], []
    layers = list(dict.fromkeys(next(iter(tables.values()))["layer"]))
    for name, table in tables.items():
        kept = _kept(table, include_silent)
        parts.append(kept.assign(layer=kept["layer"] + (f" {name}" if name else "")))
    for layer in layers:
        order += [layer + (f" {name}" if name else "") for name in tables]
    return layer_distributions(pd.concat(parts, ignore_index=True), list(measures)), order


def superiority(a: np.ndarray, b: np.ndarray) -> float:
    """Vargha and Delaney's A: the probability that a value drawn from `a` exceeds one drawn
    from `b`, ties counting half (NaN values left out)."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([a, b]))
    return float((ranks[: a.size].sum() - a.size * (a.size + 1) / 2) / (a.size * b.size))


def compare_networks(
    trained: pd.DataFrame,
    untrained: pd.DataFrame,
    measures: Sequence[str],
    include_silent: bool = False,
) -> pd.DataFrame:
    """Per layer and measure: the medians of the trained and the untrained units and A, the
    probability that a trained unit is more selective than an untrained one (for a measure
    where lower is more selective, that its value is lower); ``separates`` where A is at
    least `A_LARGE` (Vargha & Delaney's "large")."""
    directions = null_measures()
    trained, untrained = _kept(trained, include_silent), _kept(untrained, include_silent)
    rows = []
    for layer in dict.fromkeys(trained["layer"]):
        t, u = trained[trained["layer"] == layer], untrained[untrained["layer"] == layer]
        for measure in measures:
            sign = directions.get(measure, 1)
            a = superiority(sign * t[measure].to_numpy(float), sign * u[measure].to_numpy(float))
            rows.append(
                {
                    "layer": layer,
                    "measure": measure,
                    "trained": float(t[measure].median()),
                    "untrained": float(u[measure].median()),
                    "A": a,
                    "separates": bool(a >= A_LARGE),
                }
            )
    return pd.DataFrame(rows)


def describe_separation(comparison: pd.DataFrame, panels: Mapping[str, str]) -> str:
    """Which measures separate trained from untrained units in every layer, which only in
    some, and which in none; with the smallest and largest A."""
    by_measure = comparison.groupby("measure", sort=False)["separates"]
    every = [m for m, s in by_measure if s.all()]
    some = [m for m, s in by_measure if s.any() and not s.all()]
    none = [m for m, s in by_measure if not s.any()]
    low, high = comparison.loc[comparison["A"].idxmin()], comparison.loc[comparison["A"].idxmax()]

    def named(measures: Sequence[str]) -> str:
        return ", ".join(panels.get(m, m).split(". ", 1)[-1] for m in measures) or "none"

    return (
        f"**This run.** A trained unit is more selective than an untrained one with probability "
        f"A (Vargha and Delaney's measure; {A_LARGE:.2f} or more is a large difference). In "
        f"every layer the difference is large for: {named(every)}. In some layers only: "
        f"{named(some)}. In none: {named(none)}. A ranges from {low['A']:.2f} "
        f"(`{low['measure']}`, {low['layer']}) to {high['A']:.2f} (`{high['measure']}`, "
        f"{high['layer']})."
    )


# --- training seeds -------------------------------------------------------------------------


def seed_statistics(
    tables: Mapping[int, pd.DataFrame], measures: Sequence[str], include_silent: bool = False
) -> pd.DataFrame:
    """Per layer and measure, over the seeds' networks: the mean and SD of each network's
    median and of its mean (Fig. 3's red bar and green dot), and their range."""
    stats = pd.concat(
        [
            layer_distributions(_kept(table, include_silent), list(measures)).assign(seed=seed)
            for seed, table in tables.items()
        ],
        ignore_index=True,
    )
    grouped = stats.groupby(["layer", "measure"], sort=False)
    out = grouped.agg(
        median_mean=("median", "mean"),
        median_sd=("median", "std"),
        median_min=("median", "min"),
        median_max=("median", "max"),
        mean_mean=("mean", "mean"),
        mean_sd=("mean", "std"),
    )
    return out.fillna({"median_sd": 0.0, "mean_sd": 0.0}).reset_index()


def seed_counts(
    tables: Mapping[int, pd.DataFrame],
    precision: str = "precision_60",
    include_silent: bool = False,
) -> pd.DataFrame:
    """Per layer and count (units with precision and CCMAS above .9, localist units, and the
    three detector bars of `compendium.chapters.detectors`), the mean and SD over seeds."""
    per_seed = []
    for seed, table in tables.items():
        kept = _kept(table, include_silent)
        quoted = quoted_counts(kept, precision=precision)
        bars = detectors.detector_counts(table, include_silent=include_silent)
        counts = pd.DataFrame(
            {
                "precision > .9": quoted["n_precision_above_0.9"],
                "CCMAS > .9": quoted["n_ccmas_above_0.9"],
                **{detectors.COUNT_TITLES[b]: bars[b] for b in detectors.BARS},
            }
        )
        per_seed.append(counts.rename_axis("layer").reset_index().assign(seed=seed))
    long = pd.concat(per_seed, ignore_index=True).melt(
        id_vars=["layer", "seed"], var_name="count", value_name="value"
    )
    grouped = long.groupby(["layer", "count"], sort=False)["value"]
    return grouped.agg(mean="mean", sd="std").fillna(0.0).reset_index()


def seed_table(statistics: pd.DataFrame, panels: Mapping[str, str]) -> pd.DataFrame:
    """For the page: per panel and layer, the seeds' median as mean ± SD."""
    cells = statistics.assign(
        cell=[
            f"{m:.3f} ± {s:.3f}"
            for m, s in zip(statistics["median_mean"], statistics["median_sd"], strict=True)
        ]
    )
    shown = cells.pivot(index="measure", columns="layer", values="cell")
    layers = list(dict.fromkeys(statistics["layer"]))
    return (
        shown.reindex(index=list(panels), columns=layers)
        .rename(index=panels)
        .rename_axis(index=None, columns=None)
    )


def seed_count_table(counts: pd.DataFrame) -> pd.DataFrame:
    """For the page: per count (rows) and layer, the seeds' mean ± SD."""
    cells = counts.assign(
        cell=[f"{m:,.1f} ± {s:,.1f}" for m, s in zip(counts["mean"], counts["sd"], strict=True)]
    )
    shown = cells.pivot(index="count", columns="layer", values="cell")
    return shown.reindex(
        index=list(dict.fromkeys(counts["count"])), columns=list(dict.fromkeys(counts["layer"]))
    ).rename_axis(index=None, columns=None)


def seed_agreement(
    tables: Mapping[int, pd.DataFrame], measures: Sequence[str], include_silent: bool = False
) -> pd.DataFrame:
    """Per layer, measure and pair of seeds: A (`superiority`) between the two networks'
    units, as `compare_networks` measures trained against untrained (.5: alike)."""
    directions = null_measures()
    kept = {seed: _kept(table, include_silent) for seed, table in tables.items()}
    rows = []
    for a, b in itertools.combinations(kept, 2):
        for layer in dict.fromkeys(kept[a]["layer"]):
            ua, ub = kept[a][kept[a]["layer"] == layer], kept[b][kept[b]["layer"] == layer]
            for measure in measures:
                sign = directions.get(measure, 1)
                value = superiority(
                    sign * ua[measure].to_numpy(float), sign * ub[measure].to_numpy(float)
                )
                rows.append({"layer": layer, "measure": measure, "seeds": f"{a}-{b}", "A": value})
    out = pd.DataFrame(rows, columns=["layer", "measure", "seeds", "A"])
    return out.assign(difference=(out["A"] - 0.5).abs())


def agreement_table(
    agreement: pd.DataFrame, panels: Mapping[str, str], layers: Sequence[str]
) -> pd.DataFrame:
    """For the page: per panel and layer, the A of the two seeds that differ most."""
    far = agreement.loc[agreement.groupby(["measure", "layer"], sort=False)["difference"].idxmax()]
    shown = far.pivot(index="measure", columns="layer", values="A")
    return (
        shown.reindex(index=list(panels), columns=list(layers))
        .rename(index=panels)
        .rename_axis(index=None, columns=None)
    )


def _largest_count_spread(counts: pd.DataFrame) -> pd.Series | None:
    """The count (of those whose mean reaches `COUNT_FLOOR`) whose SD over seeds is the
    largest share of its mean, with that share (``spread``); None if there is none."""
    shown = counts[counts["mean"] >= COUNT_FLOOR]
    if shown.empty:
        return None
    shown = shown.assign(spread=shown["sd"] / shown["mean"])
    return shown.loc[shown["spread"].idxmax()]


def describe_seeds(
    statistics: pd.DataFrame,
    counts: pd.DataFrame,
    agreement: pd.DataFrame | None,
    seeds: Sequence[int],
    epochs: int | None,
    n_train: int | None,
) -> str:
    """How the networks trained with other seeds differ: the largest SD of a layer's median,
    the largest difference between two seeds' units (A), and the counts' spread."""
    head = f"**This run.** {_networks(len(seeds))} ({', '.join(f'seed {s}' for s in seeds)}; "
    head += f"{_schedule(epochs, n_train)})."
    if len(seeds) < 2:
        return head + " With one seed there is no spread to measure: give `seeds` two or more."
    worst = statistics.loc[statistics["median_sd"].idxmax()]
    text = (
        f"{head} The largest SD of a layer's median over the seeds is "
        f"{worst['median_sd']:.3f} (`{worst['measure']}` in {worst['layer']}, medians from "
        f"{worst['median_min']:.3f} to {worst['median_max']:.3f})."
    )
    if agreement is not None and len(agreement):
        far = agreement.loc[agreement["difference"].idxmax()]
        text += (
            f" Two seeds' units differ most on `{far['measure']}` in {far['layer']} (seeds "
            f"{far['seeds']}, A = {far['A']:.2f}; {_size(far['A'])})."
        )
    spread = _largest_count_spread(counts)
    if spread is not None:
        text += (
            f" Of the counts of at least {COUNT_FLOOR} units, `{spread['count']}` in "
            f"{spread['layer']} varies most: {spread['mean']:,.1f} ± {spread['sd']:,.1f} "
            f"({spread['spread']:.0%} of its mean)."
        )
    return text


def _size(a: float) -> str:
    """Vargha and Delaney's name for the size of a difference A."""
    d = abs(a - 0.5)
    if d >= A_LARGE - 0.5:
        return "a large difference"
    if d >= A_MEDIUM - 0.5:
        return "a medium difference"
    return "a small difference" if d >= 0.06 else "a negligible difference"


def _networks(n: int) -> str:
    return "one network" if n == 1 else f"{n} networks"


def _schedule(epochs: int | None, n_train: int | None) -> str:
    images = (
        "all 60,000 training images"
        if n_train is None
        else f"the first {n_train:,} training images"
    )
    return (
        f"each trained for {epochs} epoch{'s' if epochs != 1 else ''} on {images}"
        if epochs
        else f"trained on {images}"
    )


# --- verdicts -------------------------------------------------------------------------------


def chapter_findings(
    summaries: Mapping[str, pd.DataFrame],
    comparison: pd.DataFrame | None,
    agreement: pd.DataFrame | None,
    counts: pd.DataFrame | None,
    precision: str,
    n_classes: int,
) -> pd.DataFrame:
    """The chapter's findings, each with its criterion, this run's numbers and whether it
    holds. `summaries` maps "trained" (and "untrained", when there is one) to
    `chance_summary` tables; `comparison` (`compare_networks`), `agreement`
    (`seed_agreement`) and `counts` (`seed_counts`) may be None (no untrained network, or
    fewer than two seeds)."""
    trained = summaries["trained"].set_index(["measure", "layer"])
    layers = list(dict.fromkeys(summaries["trained"]["layer"]))
    rows = []
    chance = trained.loc[precision, "chance_median"]
    rows.append(
        (
            f"chance precision (the null's median) is above 1/C = {1 / n_classes:.3f} in every layer",
            ", ".join(f"{layer} {chance[layer]:.3f}" for layer in layers),
            bool((chance > 1 / n_classes).all()),
        )
    )
    for measure, name in ((precision, "precision"), ("ccmas", "CCMAS")):
        share = trained.loc[measure, "share"]
        rows.append(
            (
                f"most trained units beat chance on {name} in every layer",
                ", ".join(f"{layer} {share[layer]:.0%}" for layer in layers),
                bool((share > 0.5).all()),
            )
        )
    if "untrained" in summaries:
        untrained = summaries["untrained"].set_index(["measure", "layer"])
        share = untrained.loc[precision, "share"]
        rows.append(
            (
                "beating chance is a low bar: most untrained units beat it on precision too",
                ", ".join(f"{layer} {share[layer]:.0%}" for layer in layers),
                bool((share > 0.5).all()),
            )
        )
    if comparison is not None:
        for measure, name in (
            (precision, "precision"),
            ("ccmas", "CCMAS"),
            ("max_informedness", "max informedness"),
        ):
            rows_m = comparison[comparison["measure"] == measure]
            rows.append(
                (
                    f"{name} separates trained from untrained units in every layer (A >= {A_LARGE:.2f})",
                    ", ".join(f"{r.layer} {r.A:.2f}" for r in rows_m.itertuples()),
                    bool(rows_m["separates"].all()),
                )
            )
    if agreement is not None and len(agreement):
        far = agreement.loc[agreement["difference"].idxmax()]
        rows.append(
            (
                f"any two seeds' networks differ by less than a medium amount (A within "
                f"{1 - A_MEDIUM:.2f} to {A_MEDIUM:.2f}) on every measure in every layer",
                f"largest: A = {far['A']:.2f} (`{far['measure']}` in {far['layer']}, seeds "
                f"{far['seeds']})",
                bool(far["difference"] < A_MEDIUM - 0.5),
            )
        )
    if counts is not None:
        spread = _largest_count_spread(counts)
        rows.append(
            (
                f"the counts of at least {COUNT_FLOOR} units vary by less than "
                f"{COUNT_SHARE:.0%} of their mean between seeds",
                "no such counts"
                if spread is None
                else f"at most {spread['spread']:.0%} (`{spread['count']}` in {spread['layer']})",
                bool(spread is not None and spread["spread"] < COUNT_SHARE),
            )
        )
    return pd.DataFrame(rows, columns=["finding", "this run", "holds"])


def findings_shown(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings table for the page: ``holds`` as yes or no."""
    return findings.assign(holds=findings["holds"].map({True: "yes", False: "no"}))


def describe_findings(findings: pd.DataFrame) -> str:
    """How many of the chapter's findings hold on this run, and which do not."""
    failed = findings.loc[~findings["holds"], "finding"].tolist()
    text = f"**Verdict.** {int(findings['holds'].sum())} of the {len(findings)} findings hold on this run."
    if failed:
        text += " These do not: " + "; ".join(failed) + "."
    return text


# --- for chapter 2 ------------------------------------------------------------------------


def chance_precision(null: NullTables, precision: str, n_classes: int) -> pd.DataFrame:
    """Per layer: chance precision from the null (its median, mean and 2.5-97.5 band)
    beside 1/C, the share a class has of the images."""
    rows = null.band[null.band["measure"] == precision].set_index("layer")
    return pd.DataFrame(
        {
            "1/C": 1 / n_classes,
            "null median": rows["median"],
            "null mean": rows["mean"],
            "null 2.5%": rows["low"],
            "null 97.5%": rows["high"],
        }
    )


def describe_chance_precision(table: pd.DataFrame, precision: str, n_classes: int) -> str:
    """Chance precision as the null gives it, against the 1/C a reader would expect."""
    n = precision.split("_")[-1]
    layers = ", ".join(
        f"{layer} {row['null median']:.3f} ({row['null 2.5%']:.3f} to {row['null 97.5%']:.3f})"
        for layer, row in table.iterrows()
    )
    return (
        f"With {n_classes} classes a class holds about 1/{n_classes} = {1 / n_classes:.3f} of the "
        f"images, but chance precision is higher: when the labels are shuffled, the precision "
        f"of a unit's top {n} images is the share of the largest of {n_classes} counts, not of "
        f"one class. The permutation null gives, layer by layer (median, 2.5th to 97.5th "
        f"percentile): {layers}."
    )


def counts_beats_chance(
    null: NullTables,
    measures: Mapping[str, str],
    q: float = 0.05,
    include_silent: bool = False,
) -> pd.DataFrame:
    """Per layer (rows), the units that beat chance after Benjamini-Hochberg at `q` on each
    of `measures` (column -> the name of the count, e.g. ``{"precision_60": "precision
    beats chance"}``)."""
    kept = _kept(null.table, include_silent)
    rows = {}
    for layer, units in kept.groupby("layer", sort=False):
        rows[layer] = {
            name: int(benjamini_hochberg(units[f"{m}_p"].to_numpy(float), q).sum())
            for m, name in measures.items()
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def with_beats_chance(beside: pd.DataFrame, beats: pd.DataFrame) -> pd.DataFrame:
    """A table of `compendium.chapters.paper.beside_paper(..., wide=True)` with each column
    of `beats` added as (name, "this run") and an empty (name, "paper")."""
    out = beside.copy()
    for name in beats.columns:
        out[(name, "this run")] = beats[name].reindex(out.index)
        out[(name, "paper")] = np.nan
    return out


# --- what the page compares ---------------------------------------------------------------


def describe_networks(
    made_by: str,
    n_images: int,
    n_classes: int,
    plan: ChapterPlan,
    untrained_seed: int | None,
    seed_accuracies: Mapping[int, float] | None,
    seed_schedule: tuple[int, int | None] | None = None,
) -> str:
    """What the chapter compares: the trained network's recording, the untrained network
    (None: none, the profile has no network to build) and the seeds' networks with their
    test accuracy and their (epochs, training images) (None: all 60,000)."""
    text = (
        f"**The trained network:** {made_by}, {n_images:,} images of {n_classes} classes. "
        f"**Chance:** {plan.n_permutations} shuffles of their labels (seed "
        f"{plan.permutation_seed}), Benjamini-Hochberg at q = {plan.q:g}."
    )
    if untrained_seed is None:
        return text + (
            " **Untrained network and seeds:** none; they are made for the profiles that "
            "train the small AlexNet on Fashion-MNIST."
        )
    text += (
        f" **Untrained network:** the same architecture with torch's default initialisation "
        f"drawn with seed {untrained_seed} (the weights that training with that seed starts "
        f"from), recorded on the same {n_images:,} images."
    )
    if seed_accuracies:
        accuracies = ", ".join(f"seed {s}: {a:.4f}" for s, a in seed_accuracies.items())
        epochs, n_train = seed_schedule or (plan.seed_epochs, plan.seed_n_train)
        text += (
            f" **Seeds:** {_networks(len(seed_accuracies))} that differ only in the training "
            f"seed, {_schedule(epochs, n_train)} (test accuracy {accuracies}), each recorded "
            f"as the profile records its own network."
        )
    return text


# --- exercises ------------------------------------------------------------------------------


def random_top_precision(
    labels: np.ndarray, n: int, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The mean and the 97.5th percentile of the largest class share among `n` images drawn
    at random (without replacement) from images labelled `labels`, over `draws` draws."""
    counts = np.bincount(np.asarray(labels))
    rng = np.random.default_rng(seed)
    tops = rng.multivariate_hypergeometric(counts, n, size=draws).max(axis=1) / n
    return float(tops.mean()), float(np.percentile(tops, 97.5))


def exercises(
    labels: np.ndarray,
    summaries: Mapping[str, pd.DataFrame],
    nulls: Mapping[str, NullTables],
    precision: str,
    q: float,
    n_permutations: int,
    include_silent: bool = False,
) -> list:
    """The chapter's exercises, each solution written from this run's numbers."""
    from compendium.chapters.exercises import Exercise

    n = int(precision.split("_")[-1])
    mean, high = random_top_precision(labels, n)
    trained = summaries["trained"]
    layer = trained["layer"].iloc[-1]
    row = trained[(trained["measure"] == precision) & (trained["layer"] == layer)].iloc[0]
    n_classes = int(np.unique(labels).size)
    first = Exercise(
        label="ex-chance-precision",
        title="Chance precision without shuffling",
        question=(
            f"Draw {n} of this run's {labels.size:,} images at random, many times, and take the "
            f"largest share of one class among them. What is its mean, and why is it not "
            f"1/{n_classes}? Compare it with the permutation null's median precision of "
            f"{layer}."
        ),
        solution=(
            f"Over 2,000 draws (`compendium.chapters.chance.random_top_precision`) the mean is "
            f"{mean:.3f} and the 97.5th percentile {high:.3f}, against 1/{n_classes} = "
            f"{1 / n_classes:.3f}: the largest of {n_classes} counts is larger than a typical "
            f"one. The null's median for {layer} is {row['chance_median']:.3f}: shuffling the "
            f"labels of a unit's top {n} images is the same as drawing them at random."
        ),
    )
    kept = _kept(nulls["trained"].table, include_silent)
    units = kept[kept["layer"] == layer][f"{precision}_p"].to_numpy(float)
    plain = int((units <= q).sum())
    corrected = int(benjamini_hochberg(units, q).sum())
    smallest = 1 / (n_permutations + 1)
    second = Exercise(
        label="ex-chance-bh",
        title="Why correct for many units?",
        question=(
            f"In {layer}, how many units have a precision p-value of at most {q:g}, and how "
            f"many survive Benjamini-Hochberg at q = {q:g}? With the smallest p-value this "
            f"number of shuffles allows, how many units could a layer have for a single "
            f"selective unit among noise units to survive?"
        ),
        solution=(
            f"{plain:,} of {units.size:,} units have p <= {q:g} and {corrected:,} survive the "
            f"correction: {_correction_cost(plain, corrected)} The smallest p-value is "
            f"1/(K + 1) = {smallest:.4f}; a lone selective unit among m units survives only if "
            f"1/(K + 1) <= q / m, i.e. m <= {int(q / smallest):,}. With more units, more "
            f"shuffles are needed to find it."
        ),
    )
    return [first, second]


def _correction_cost(plain: int, corrected: int) -> str:
    """What the Benjamini-Hochberg correction did to a layer's count, in words."""
    if plain == 0:
        return "no unit is below q to begin with."
    if corrected >= 0.9 * plain:
        return "so many units are far beyond chance that the correction costs little."
    if corrected == 0:
        return (
            "the correction keeps none, because with this few shuffles no p-value is small "
            "enough for it."
        )
    return f"the correction keeps {corrected / plain:.0%} of them."
