"""Chapter "Chance, seeds and untrained networks": its summaries and verdicts follow the
numbers (compendium.chapters.chance), and its control networks are what they claim to be
(compendium.methods.controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compendium.activations.reader import open_activations
from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.chapters import chance, plots
from compendium.chapters.plots import box_plots
from compendium.inputs import datasets
from compendium.measures import permutation_null
from compendium.measures.tables import NullTables
from compendium.methods import controls
from compendium.networks import training
from compendium.networks.models import SmallAlexNetConfig
from compendium.networks.training import TrainConfig

PANELS = chance.fig3_panels((60, 100))


def layer_table(rng, layer: str, n_units: int, selective: float, labels) -> pd.DataFrame:
    """A measures table with p-values (as `null_layers` gives) for one made-up layer, whose
    units lean towards a class by `selective`."""
    x = rng.normal(size=(labels.size, n_units)) + selective * (labels[:, None] == 1)
    table = permutation_null(np.maximum(x, 0), labels, n_permutations=19, seed=1).table()
    return table.reset_index().assign(layer=layer)


@pytest.fixture(scope="module")
def networks():
    """Trained-like (selective) and untrained-like (noise) tables of two layers, with bands."""
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(5), 40)
    out = {}
    for name, strength in (("trained", 2.5), ("untrained", 0.0)):
        parts = [layer_table(rng, layer, 30, strength, labels) for layer in ("fc6", "fc7")]
        table = pd.concat(parts, ignore_index=True)
        band = pd.concat(
            [
                pd.DataFrame(
                    {
                        "layer": layer,
                        "measure": list(PANELS),
                        "low": 0.1,
                        "median": 0.2,
                        "high": 0.3,
                        "mean": 0.2,
                    }
                )
                for layer in ("fc6", "fc7")
            ],
            ignore_index=True,
        )
        out[name] = NullTables(table, band)
    return out


def test_the_plan_checks_every_parameter():
    good = dict(layers=["fc6"], seeds=[0, 1], n_permutations=10, top_n=[60, 100])
    plan = chance.ChapterPlan.from_parameters(**good)
    assert plan.options["top"] == (60, 100) and plan.top.precision == "precision_60"
    for bad, message in (
        ({"layers": "fc6"}, "layers must be a list"),
        ({"seeds": []}, "seeds must be a list"),
        ({"n_permutations": 0}, "n_permutations must be a whole number"),
        ({"q": 1.5}, "q must be a false-discovery rate"),
        ({"include_silent": "no"}, "include_silent must be true or false"),
        ({"seed_epochs": -1}, "seed_epochs must be a whole number"),
    ):
        with pytest.raises(chance.ChanceParameterError, match=message):
            chance.ChapterPlan.from_parameters(**{**good, **bad})


def test_chance_summary_counts_the_units_that_beat_chance(networks):
    trained = chance.chance_summary(networks["trained"], list(PANELS))
    noise = chance.chance_summary(networks["untrained"], list(PANELS))
    ccmas = trained[trained["measure"] == "ccmas"].set_index("layer")
    assert (ccmas["units"] == 30).all() and (ccmas["share"] > 0.8).all()
    assert noise[noise["measure"] == "ccmas"]["beats"].max() <= 2
    assert set(trained.columns) >= {"median", "chance_low", "chance_high", "beats", "share"}
    text = chance.describe_chance({"trained": trained, "untrained": noise}, "precision_60", 0.05)
    share = ccmas.loc["fc6", "share"]
    assert f"{share:.0%} in fc6" in text and "untrained network" in text
    shown = chance.chance_table({"trained": trained}, PANELS, ["fc6", "fc7"])
    assert shown.shape == (len(PANELS), 2) and "/30" in shown.iloc[0, 0]


def test_the_comparison_finds_what_training_changed(networks):
    comparison = chance.compare_networks(
        networks["trained"].table, networks["untrained"].table, list(PANELS)
    )
    ccmas = comparison[comparison["measure"] == "ccmas"]
    assert (ccmas["A"] > chance.A_LARGE).all() and ccmas["separates"].all()
    # the number of classes among the top 100: lower is more selective, so A is turned
    assert (comparison[comparison["measure"] == "n_classes_top100"]["A"] >= 0.5).all()
    text = chance.describe_separation(comparison, PANELS)
    assert "CCMAS" in text.split("In some layers")[0]
    reversed_ = chance.compare_networks(
        networks["untrained"].table, networks["trained"].table, list(PANELS)
    )
    assert not reversed_[reversed_["measure"] == "ccmas"]["separates"].any()
    assert "CCMAS" in chance.describe_separation(reversed_, PANELS).split("In none:")[1]


def test_superiority_is_the_probability_of_a_higher_value():
    assert chance.superiority(np.array([2.0, 3.0]), np.array([1.0, 1.0])) == 1.0
    assert chance.superiority(np.array([1.0]), np.array([1.0])) == 0.5
    assert chance.superiority(np.array([1.0, 3.0]), np.array([2.0])) == 0.5
    assert np.isnan(chance.superiority(np.array([np.nan]), np.array([1.0])))


def test_seed_statistics_and_counts_are_mean_and_sd_over_seeds(networks):
    tables = {0: networks["trained"].table, 1: networks["untrained"].table}
    stats = chance.seed_statistics(tables, list(PANELS))
    row = stats[(stats["layer"] == "fc6") & (stats["measure"] == "ccmas")].iloc[0]
    medians = [t[t["layer"] == "fc6"]["ccmas"].median() for t in tables.values()]
    assert row["median_mean"] == pytest.approx(np.mean(medians))
    assert row["median_sd"] == pytest.approx(np.std(medians, ddof=1))
    counts = chance.seed_counts(tables)
    assert {"precision > .9", "CCMAS > .9", "detectors"} <= set(counts["count"])
    agreement = chance.seed_agreement(tables, list(PANELS))
    far = agreement.loc[agreement["difference"].idxmax()]
    assert far["seeds"] == "0-1" and far["A"] > chance.A_LARGE  # selective against noise
    assert chance.agreement_table(agreement, PANELS, ["fc6", "fc7"]).shape == (len(PANELS), 2)
    text = chance.describe_seeds(stats, counts, agreement, [0, 1], 2, None)
    assert "2 networks (seed 0, seed 1; each trained for 2 epochs on all 60,000" in text
    assert f"A = {far['A']:.2f}; a large difference" in text
    one = chance.describe_seeds(stats, counts, agreement, [0], 1, 2000)
    assert "one network (seed 0; each trained for 1 epoch on the first 2,000" in one
    assert "no spread to measure" in one
    assert f"{stats['median_sd'].max():.3f}" in text
    assert chance.seed_table(stats, PANELS).shape == (len(PANELS), 2)


def test_the_findings_follow_the_numbers(networks):
    summaries = {name: chance.chance_summary(null, list(PANELS)) for name, null in networks.items()}
    comparison = chance.compare_networks(
        networks["trained"].table, networks["untrained"].table, list(PANELS)
    )
    same = chance.seed_agreement(
        {0: networks["trained"].table, 1: networks["trained"].table}, list(PANELS)
    )
    apart = chance.seed_agreement(
        {0: networks["trained"].table, 1: networks["untrained"].table}, list(PANELS)
    )
    for agreement, holds in ((same, True), (apart, False)):
        rows = chance.chapter_findings(summaries, None, agreement, None, "precision_60", 5)
        assert bool(rows.iloc[-1]["holds"]) is holds and "medium amount" in rows.iloc[-1]["finding"]
    counts = pd.DataFrame(
        {"layer": ["fc6", "fc6"], "count": ["a", "b"], "mean": [100.0, 5.0], "sd": [5.0, 4.0]}
    )
    row = chance.chapter_findings(summaries, None, None, counts, "precision_60", 5).iloc[-1]
    assert row["holds"] and row["this run"] == "at most 5% (`a` in fc6)"  # b: under 20 units
    findings = chance.chapter_findings(summaries, comparison, None, None, "precision_60", 5)
    held = dict(zip(findings["finding"], findings["holds"], strict=True))
    assert held["most trained units beat chance on CCMAS in every layer"]
    assert not held["beating chance is a low bar: most untrained units beat it on precision too"]
    text = chance.describe_findings(findings)
    assert f"{int(findings['holds'].sum())} of the {len(findings)} findings hold" in text
    assert "most untrained units beat it" in text  # named as one that does not hold
    # chance precision of .2 against 1/C: holds for 10 classes, not for 4
    for n_classes, holds in ((10, True), (4, False)):
        row = chance.chapter_findings(summaries, None, None, None, "precision_60", n_classes)
        assert bool(row.iloc[0]["holds"]) is holds


def test_chance_precision_and_the_chapter_2_helpers(networks):
    table = chance.chance_precision(networks["trained"], "precision_60", 10)
    assert list(table.index) == ["fc6", "fc7"] and (table["1/C"] == 0.1).all()
    text = chance.describe_chance_precision(table, "precision_60", 10)
    assert "1/10 = 0.100" in text and "fc6 0.200 (0.100 to 0.300)" in text
    beats = chance.counts_beats_chance(networks["trained"], {"ccmas": "CCMAS beats chance"})
    summary = chance.chance_summary(networks["trained"], ["ccmas"])
    assert beats["CCMAS beats chance"].tolist() == summary["beats"].tolist()
    beside = pd.DataFrame(
        {("units", "this run"): [30, 30], ("units", "paper"): [np.nan, np.nan]},
        index=["fc6", "fc7"],
    )
    added = chance.with_beats_chance(beside, beats)
    assert (
        added[("CCMAS beats chance", "this run")].tolist() == beats["CCMAS beats chance"].tolist()
    )


def test_box_plots_draw_the_chance_band(networks):
    bands = chance.layer_bands(networks["trained"])
    bands.update(chance.layer_bands(networks["untrained"], " untrained"))
    band = chance.fig3_band(bands, list(PANELS))
    assert set(band["layer"]) == {"fc6", "fc7", "fc6 untrained", "fc7 untrained"}
    stats, order = chance.comparison_distributions(
        {"": networks["trained"].table, "untrained": networks["untrained"].table}, list(PANELS)
    )
    assert order == ["fc6", "fc6 untrained", "fc7", "fc7 untrained"]
    spec = box_plots(stats, PANELS, layers=order, band=band).to_dict()
    text = str(spec)
    assert plots.CHANCE_MARK in text and "fc7 untrained" in text
    assert plots.PAPER_MARK not in text  # no paper marks drawn, none in the legend
    assert plots.CHANCE_MARK not in str(box_plots(stats, PANELS, layers=order).to_dict())


# --- the control networks -----------------------------------------------------------------

needs_fashion_mnist = pytest.mark.skipif(
    not (datasets.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (dataset-fashion-mnist)",
)


def test_the_untrained_network_is_where_training_starts(monkeypatch):
    config = TrainConfig(model=SmallAlexNetConfig(widths=(4, 4, 4, 4, 4), fc_width=16), seed=3)
    monkeypatch.setattr(training, "train_epoch", lambda *a, **k: 0.0)
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: 0.0)
    monkeypatch.setattr(training, "training_split", _tiny_split)
    start, _ = training.fit(config.__class__(**{**config.__dict__, "epochs": 1}))
    untrained = controls.untrained_network(config)
    for name, value in start.state_dict().items():
        assert np.array_equal(value.numpy(), untrained.state_dict()[name].numpy()), name
    other = controls.untrained_network(config, seed=4)
    assert controls.state_sha256(other) != controls.state_sha256(untrained)


def _tiny_split(dataset, split):
    return datasets.ImageSet(
        np.zeros((4, 28, 28), np.uint8), np.arange(4), [str(i) for i in range(10)], "tiny"
    )


def test_seed_configs_differ_only_in_the_seed():
    base = TrainConfig(epochs=5, seed=0, n_train=None)
    configs = controls.seed_configs(base, [0, 1, 2], epochs=2)
    assert [c.seed for c in configs] == [0, 1, 2] and {c.epochs for c in configs} == {2}
    strip = [{**c.to_dict(), "seed": None} for c in configs]
    assert strip[0] == strip[1] == strip[2] and len({c.key for c in configs}) == 3
    for bad in ([], [0, 0], ["a"], [True]):
        with pytest.raises(controls.ControlError, match="seeds must be a list"):
            controls.seed_configs(base, bad)


@needs_fashion_mnist
def test_the_untrained_recording_holds_the_trained_recordings_images(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    test = datasets.load_fashion_mnist("test")
    kept = np.array([3, 5, 8, 13, 21, 34, 55])
    trained = tmp_path / "trained.h5"
    acts = np.ones((kept.size, 2), np.float32)
    provenance = {"model": "m", "dataset": "fashion-mnist:test[:60]", "weights_sha256": "ab" * 32}
    with ActivationWriter(trained, [LayerSpec("fc8", 2)], test.class_names, provenance) as w:
        w.append({"fc8": {"max": acts}}, test.labels[kept], kept)
        w.finish()
    config = TrainConfig(model=SmallAlexNetConfig(widths=(4, 4, 4, 4, 4), fc_width=16))
    path = controls.record_untrained(config, trained, batch_size=4)
    with open_activations(path) as made:
        assert made.n_images == kept.size
        np.testing.assert_array_equal(made.labels, test.labels[kept])
        assert made.attrs["weights_sha256"] == controls.state_sha256(
            controls.untrained_network(config)
        )
        assert "fc6" in made.layers and made.attrs["images_of"] == "trained.h5"
    stamp = path.stat().st_mtime_ns
    assert controls.record_untrained(config, trained) == path and path.stat().st_mtime_ns == stamp
    with pytest.raises(controls.ControlError, match="not Fashion-MNIST"):
        other = tmp_path / "other.h5"
        with ActivationWriter(
            other, [LayerSpec("fc8", 2)], test.class_names, {**provenance, "dataset": "imagenet"}
        ) as w:
            w.append({"fc8": {"max": acts}}, test.labels[kept], kept)
            w.finish()
        controls.record_untrained(config, other)


def test_the_exercises_are_solved_from_the_run(networks):
    labels = np.repeat(np.arange(5), 40)
    summaries = {"trained": chance.chance_summary(networks["trained"], list(PANELS))}
    items = chance.exercises(labels, summaries, networks, "precision_60", 0.05, 19)
    assert [e.label for e in items] == ["ex-chance-precision", "ex-chance-bh"]
    mean, high = chance.random_top_precision(labels, 60)
    assert 1 / 5 < mean < high < 1 and f"{mean:.3f}" in items[0].solution
    assert "1/(K + 1) = 0.0500" in items[1].solution and "m <= 1" in items[1].solution
    p = networks["trained"].table.query("layer == 'fc7'")["precision_60_p"]
    assert f"{int((p <= 0.05).sum()):,} of {len(p):,} units" in items[1].solution


@pytest.mark.parametrize(
    "plain, corrected, words",
    [
        (0, 0, "no unit is below q"),
        (100, 95, "costs little"),
        (100, 0, "keeps none"),
        (100, 40, "keeps 40%"),
    ],
)
def test_what_the_correction_did_is_said_from_the_counts(plain, corrected, words):
    assert words in chance._correction_cost(plain, corrected)
