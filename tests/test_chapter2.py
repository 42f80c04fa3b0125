"""Chapter 2 (notebooks/02_alexnet_results.py) and the package functions it calls: unit
selection, Fig. 4's numbers, the comparison with the paper, the box plots, and runs of the
whole chapter on the smoke profile, on a file given with `-p store`, and on files in the
layout of the authors' AlexNet_Merged files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from helpers import synset_lines, write_merged_layer

from compendium.activations.store import ActivationWriter, LayerSpec
from compendium.build import pipeline, profiles, stages
from compendium.chapters import alexnet as results
from compendium.chapters import paper, plots
from compendium.inputs.synthetic import worked_example
from compendium.measures import tables, unit_measures

CHAPTER = profiles.NOTEBOOKS / "02_alexnet_results.py"


def sparse_layer(rng, labels, n_units, n_classes):
    """ReLU-like activations: a class-dependent level per unit, many exact zeros."""
    level = rng.normal(size=(n_classes, n_units)) * 1.5
    return np.maximum(rng.normal(size=(labels.size, n_units)) + level[labels] - 0.5, 0).astype(
        np.float32
    )


def write_store(
    path: Path, n_per_class=30, n_classes=5, units=(("conv5", 6), ("fc6", 40), ("fc7", 30)), seed=0
) -> Path:
    """A compendium activation file with the chapter's layers and an fc8 of logits."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    specs = [
        LayerSpec(name, n, kind="conv" if name.startswith("conv") else "fc") for name, n in units
    ]
    specs.append(LayerSpec("fc8", n_classes))
    acts = {name: {"max": sparse_layer(rng, labels, n, n_classes)} for name, n in units}
    for name, spec in zip(acts, specs, strict=False):
        if spec.kind == "conv":
            acts[name]["mean"] = acts[name]["max"] / 2
    acts["fc8"] = {
        "max": (3 * np.eye(n_classes)[labels] + rng.normal(size=(labels.size, n_classes))).astype(
            np.float32
        )
    }
    names = [f"class {c}" for c in range(n_classes)]
    with ActivationWriter(path, specs, names, {"model": "generated", "dataset": "generated"}) as w:
        w.append(acts, labels, np.arange(labels.size))
        w.finish()
    return path


# --- choosing layers and units ---------------------------------------------------------------


def test_unit_selection_fills_ranges_and_refuses_what_the_file_lacks(tmp_path):
    path = write_store(tmp_path / "a.h5")
    chosen = tables.unit_selection(path, ["conv5", "fc6"], {"fc6": "10:"})
    assert chosen == {"conv5": slice(0, 6), "fc6": slice(10, 40)}
    assert tables.unit_selection(path, ["fc7"], "0:5") == {"fc7": slice(0, 5)}
    with pytest.raises(ValueError, match=r"no layer 'fc9'; its layers are conv5, fc6, fc7, fc8"):
        tables.unit_selection(path, ["fc6", "fc9"])
    with pytest.raises(
        ValueError, match=r"units 0:50 are outside layer 'fc6', which has units 0:40"
    ):
        tables.unit_selection(path, ["fc6"], "0:50")
    with pytest.raises(ValueError, match="not among the chosen layers"):
        tables.unit_selection(path, ["fc6"], {"fc7": "0:3"})
    with pytest.raises(ValueError, match="START:STOP"):
        tables.parse_units("12")


def test_softmax_rows_and_its_own_cache_entry(tmp_path):
    path = write_store(tmp_path / "a.h5")
    from compendium.activations.store import open_activations

    with open_activations(path) as f:
        logits = f.activations("fc8")[:]
        probs = tables.softmax_rows(f.activations("fc8"), rows=7)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    cache = tmp_path / "cache"
    raw = tables.measure_layers(path, ["fc8"], cache_dir=cache)
    soft = tables.measure_layers(path, ["fc8"], cache_dir=cache, softmax=True)
    assert len(list(cache.glob("*.csv"))) == 2
    assert soft["ccmas"].between(0, 1).all() and not raw["ccmas"].equals(soft["ccmas"])
    tables.measure_layers(path, ["fc8"], cache_dir=cache, top=(50, 100))
    assert len(list(cache.glob("*.csv"))) == 3  # another top-N is another table


# --- Fig. 4's numbers ----------------------------------------------------------------------------


def test_class_informedness_agrees_with_the_measures():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 25)
    x = sparse_layer(rng, labels, 12, 4)
    table = unit_measures(x, labels)
    for unit, row in table.iterrows():
        best = results.class_informedness(x[:, unit], labels, int(row["mi_class"]))
        assert best["informedness"] == pytest.approx(row["max_informedness"])
        assert best["threshold"] == pytest.approx(row["mi_threshold"])
        assert best["false_alarm"] == pytest.approx(row["mi_false_alarm"])


def test_unit_figure_numbers_on_the_worked_example():
    x, labels, _ = worked_example()
    numbers = results.unit_figure_numbers(x[:, 0], labels, 0, top=5)
    assert numbers["class_count"] == 4 and numbers["class_mean"] == pytest.approx(5.75)
    assert numbers["class_max_informedness"] == pytest.approx(0.5833, abs=1e-4)
    assert numbers["class_mi_threshold"] == 5.0 and numbers["class_mi_false_alarm"] == 0.25
    assert numbers["top5_threshold"] == 4.0 and numbers["top5_hits"] == 3
    assert numbers["top5_false_alarm"] == pytest.approx(0.4) and numbers["n_zero_all"] == 2


def test_jitter_sample_keeps_the_whole_class():
    labels = np.repeat(np.arange(10), 100)
    picked = results.jitter_sample(labels, 3, 250, seed=1)
    assert picked.size == 250 and np.all(np.diff(picked) > 0)
    assert set(np.flatnonzero(labels == 3)) <= set(picked)
    np.testing.assert_array_equal(picked, results.jitter_sample(labels, 3, 250, seed=1))
    assert results.jitter_sample(labels, 3, 5000).size == 1000


def test_most_detector_like_breaks_precision_ties_by_ccmas():
    table = pd.DataFrame(
        {
            "layer": ["conv5", "fc6", "fc6", "fc7"],
            "unit": [0, 4, 2, 1],
            "precision_60": [1.0, 1.0, 1.0, 0.9],
            "ccmas": [0.5, 0.8, 0.8, 0.99],
        }
    )
    assert results.most_detector_like(table)["unit"] == 2
    assert results.parse_unit_label("fc6.1199") == ("fc6", 1199)
    with pytest.raises(ValueError, match="LAYER.UNIT"):
        results.parse_unit_label("fc6")


# --- beside the paper ----------------------------------------------------------------------


def test_beside_paper_leaves_unreported_cells_empty():
    this_run = pd.DataFrame({"units": [64, 1024], "n_localist": [0, 2]}, index=["conv5", "fc6"])
    reported = paper.reported("Sec.")
    out = results.beside_paper(this_run, reported[reported["unit"].isna()])
    assert (
        out.loc["fc6", ("units", "paper")] == 2738 and out.loc["fc6", ("n_localist", "paper")] == 0
    )
    assert out.loc["fc6", ("units", "this run")] == 1024
    assert results.beside_paper(this_run.rename(index={"fc6": "fc9"}), reported)[
        ("units", "paper")
    ].isna()["fc9"]


def test_paper_numbers_for_the_chapter_are_in_the_data_file():
    reported = paper.reported()
    extremes = results.paper_extremes(reported)
    assert extremes.loc["best_recall_p100", "paper"] == 0.08
    assert extremes.loc["min_mi_false_alarm", "paper"] == 0.96
    reference = results.fig3_reference(reported)
    assert set(reference["measure"]) == {
        "ccmas",
        "recall_p100",
        "max_informedness",
        "mi_false_alarm",
    }
    assert reference.loc[reference["layer"] == "fc7", "value"].item() == 0.848
    fc6 = reported[(reported["layer"] == "fc6") & (reported["unit"] == 1199)].set_index("measure")[
        "value"
    ]
    assert fc6["class_count"] == 1241 and fc6["top60_hits"] == 59 and fc6["n_zero_class"] == 72


def test_table_a1_beside_paper_and_network_extremes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 40)
    parts = [
        unit_measures(sparse_layer(rng, labels, n, 5), labels).reset_index().assign(layer=layer)
        for layer, n in (("conv5", 6), ("fc6", 9), ("fc7", 7))
    ]
    table = pd.concat(parts, ignore_index=True)
    a1 = results.table_a1_beside_paper(results.top_units(table), paper.reported("Table A1"))
    assert len(a1) == 6 and set(a1["ranked by"]) == {"CCMAS", "precision"}
    fc7 = a1[(a1["layer"] == "fc7") & (a1["ranked by"] == "CCMAS")].iloc[0]
    assert (
        fc7["paper unit"] == "fc7.31"
        and fc7["paper CCMAS"] == 0.94
        and fc7["paper precision"] == 0.11
    )
    extremes = results.network_extremes(table, [f"c{i}" for i in range(5)])
    best = table.loc[table["recall_p100"].idxmax()]
    assert extremes.loc["best_recall_p100", "value"] == best["recall_p100"]
    assert extremes.loc["best_recall_p100", "unit"] == f"{best['layer']}.{best['unit']}"
    assert extremes.loc["min_mi_false_alarm", "value"] == table["mi_false_alarm"].min()


def test_whiskers_and_correlation_p_values():
    table = pd.DataFrame({"layer": ["a"] * 9, "ccmas": [1, 2, 3, 4, 5, 6, 7, 8, 100.0]})
    row = results.layer_distributions(table, ["ccmas"]).iloc[0]
    assert (row["whisker_low"], row["whisker_high"], row["n_outliers"]) == (1, 8, 1)
    assert results.correlation_p_value(0.0, 100) == pytest.approx(1.0)
    assert results.correlation_p_value(0.3, 1000) < 1e-20
    assert np.isnan(results.correlation_p_value(0.5, 3))


def test_box_plots_draw_boxes_means_and_the_papers_values():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "layer": np.repeat(["conv5", "fc6", "fc7"], 30),
            "ccmas": rng.random(90),
            "recall_p100": rng.random(90) / 5,
        }
    )
    stats = results.layer_distributions(table, ["ccmas", "recall_p100"])
    reference = results.fig3_reference(paper.reported())
    chart = plots.box_plots(
        stats, {"ccmas": "c. CCMAS", "recall_p100": "d. Recall"}, reference=reference
    )
    spec = chart.to_dict()
    assert len(spec["concat"]) == 2
    marks = [[layer["mark"]["type"] for layer in panel["layer"]] for panel in spec["concat"]]
    assert marks[0][:5] == ["rule", "bar", "tick", "rule", "point"]
    assert marks[0][-1] == "point" and marks[1][-1] == "rule"  # paper: diamonds; a network line
    text = json.dumps(spec, ensure_ascii=False)
    assert "paper (AlexNet)" in text and "mean ± SE" in text and "0.848" in text
    with pytest.raises(ValueError, match="layer_distributions"):
        plots.box_plots(stats.drop(columns="whisker_low"), {"ccmas": "c"})


# --- the chapter, executed -----------------------------------------------------------------------


def run_chapter(tmp_path: Path, **parameters) -> nbformat.NotebookNode:
    """Execute the chapter with papermill as a reader would, outside the pipeline."""
    given, ran = tmp_path / "02.ipynb", tmp_path / "02-out.ipynb"
    nbformat.write(jupytext.read(CHAPTER), given)
    papermill.execute_notebook(
        str(given),
        str(ran),
        parameters=parameters,
        kernel_name=pipeline.ensure_kernel(),
        cwd=str(profiles.ROOT),
        progress_bar=False,
    )
    return nbformat.read(ran, as_version=4)


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    return [
        o["data"][kind]
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if kind in o.get("data", {})
    ]


def assert_chapter_complete(notebook: nbformat.NotebookNode) -> str:
    """Every item of the chapter is there; returns its markdown outputs as one text."""
    found = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in found if o.get("output_type") == "error"]
    assert not [o for o in found if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    html, markdown = outputs(notebook, "text/html"), "\n".join(outputs(notebook, "text/markdown"))
    charts = [h for h in html if "vega-embed" in h]
    assert len(charts) == 4  # Fig. 3, and Fig. 4's jitterplot and two histograms
    tables_html = "\n".join(h for h in html if "vega-embed" not in h)
    for needle in ("paper", "precision_100|ccmas", "mean_ccmas_2", "fc6.1199", "fc7.31"):
        assert needle in tables_html, needle
    for needle in ("**This run.** Median precision", "paper .08", "In conv5 the mean CCMAS"):
        assert needle in markdown, needle
    return markdown


def test_chapter_runs_standalone_on_a_given_store(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    store = write_store(tmp_path / "acts.h5", n_per_class=40)
    notebook = run_chapter(
        tmp_path, store=str(store), max_points=80, fig4_unit="fc7.3", units={"fc6": "0:20"}
    )
    markdown = assert_chapter_complete(notebook)
    assert f"This run reads `{store}`" in markdown
    assert "fc7.3" in "\n".join(outputs(notebook, "text/html"))
    assert re.search(r"draws all 40 images of class \d and a random 40 of the other 160", markdown)
    assert list((tmp_path / "cache" / "measures").glob("acts-*.csv"))


def test_chapter_stops_early_on_a_layer_the_file_lacks(tmp_path):
    store = write_store(tmp_path / "acts.h5")
    with pytest.raises(papermill.PapermillExecutionError, match="no layer 'fc9'; its layers are"):
        run_chapter(tmp_path, store=str(store), layers=["conv5", "fc9"])


@pytest.mark.slow
def test_chapter_on_files_in_the_authors_layout(tmp_path, monkeypatch):
    """The alexnet-merged profile end to end: one file per layer, one group per class."""
    rng = np.random.default_rng(0)
    lines = synset_lines(30)
    wnids = [lines[i].split()[0] for i in range(0, 30, 3)]  # 10 of the 30 classes
    labels = np.repeat(np.arange(10), 15)
    folder = tmp_path / "AlexNet_Merged"
    folder.mkdir()
    for layer, n_units in (("conv5", 8), ("fc6", 1210), ("fc7", 16), ("fc8", 30)):
        acts = sparse_layer(rng, labels, n_units, 10)
        per_class = {w: acts[labels == k] for k, w in enumerate(wnids)}
        write_merged_layer(folder / f"AN_merged_{layer}_max.h5", per_class, lines, h5_suffix=True)
    monkeypatch.setenv("COMPENDIUM_ALEXNET_MERGED", str(folder))
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    for step in stages.PRE_NOTEBOOK_STEPS:
        step.run(profiles.load_profile("alexnet-merged"))
    [path] = pipeline.execute_notebooks(
        "alexnet-merged", ["02_alexnet_results"], out_dir=tmp_path / "out"
    )
    notebook = nbformat.read(path, as_version=4)
    markdown = assert_chapter_complete(notebook)
    assert (
        "the authors' own activation files" in markdown and "150 images of 10 classes" in markdown
    )
    assert "Unit fc6.1199 puts" in markdown  # the profile's choice of unit for Fig. 4


@pytest.mark.slow
def test_smoke_book_has_chapter_2(smoke_book: Path):
    page = (smoke_book / "generated" / "02_alexnet_results.html").read_text()
    assert "Produced by profile" in page and "smoke" in page
    assert page.count("vega-embed") >= 4
    for needle in (
        "Fig. 3",
        "Table A1",
        "Table A2",
        "Appendix C",
        "Rerunning this chapter",
        "1,487",
    ):
        assert needle in page, needle


def test_paper_findings_judge_each_claim():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(5), 40)
    parts = [
        unit_measures(sparse_layer(rng, labels, n, 5), labels).reset_index().assign(layer=layer)
        for layer, n in (("conv5", 6), ("fc6", 9))
    ]
    table = pd.concat(parts, ignore_index=True)
    findings = results.paper_findings(table).set_index("finding")
    assert len(findings) == 6 and findings["same"].dtype == bool
    localist = findings.loc["no unit is localist"]
    assert localist["same"] == (not table["localist"].any())
    recall = findings.loc["the best recall at perfect precision is below .1"]
    assert recall["same"] == (table["recall_p100"].max() < 0.1)
    assert "fc6:" in findings.iloc[0]["this run"]  # shares are over the fc layers
    top = results.top_units(table, ("ccmas", "precision_100"), layers=["fc6", "conv5"])
    assert list(top["layer"]) == ["fc6", "conv5", "fc6", "conv5"]
