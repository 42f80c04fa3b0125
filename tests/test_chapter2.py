"""Chapter 2 (notebooks/02_alexnet_results.py) and the package functions it calls: unit
selection, Fig. 4's numbers, the comparison with the paper, the box plots, and runs of the
whole chapter on the smoke profile, on a file given with `-p store`, and on files in the
layout of the authors' AlexNet_Merged files."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from helpers import synset_lines, write_merged_layer

from compendium.activations.writer import ActivationWriter, LayerSpec
from compendium.build import pipeline, profiles, stages
from compendium.chapters import alexnet as results
from compendium.chapters import alexnet_figures as figures
from compendium.chapters import alexnet_page as words
from compendium.chapters import alexnet_paper as beside
from compendium.chapters import detectors, downloads, exercises, page, paper, plots
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
    from compendium.activations.reader import open_activations

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


def test_fig4_numbers_for_the_units_class_are_its_max_informedness():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 25)
    x = sparse_layer(rng, labels, 12, 4)
    table = unit_measures(x, labels)
    for unit, row in table.iterrows():
        numbers = results.unit_figure_numbers(x[:, unit], labels, int(row["mi_class"]))
        for column in ("max_informedness", "mi_threshold", "mi_recall", "mi_false_alarm"):
            assert numbers[f"class_{column}"] == pytest.approx(row[column]), (unit, column)


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
    out = paper.beside_paper(this_run, reported[reported["unit"].isna()], "layer", wide=True)
    assert (
        out.loc["fc6", ("units", "paper")] == 2738 and out.loc["fc6", ("n_localist", "paper")] == 0
    )
    assert out.loc["fc6", ("units", "this run")] == 1024
    assert paper.beside_paper(this_run.rename(index={"fc6": "fc9"}), reported, "layer", wide=True)[
        ("units", "paper")
    ].isna()["fc9"]


def test_paper_numbers_for_the_chapter_are_in_the_data_file():
    reported = paper.reported()
    extremes = beside.paper_extremes(reported)
    assert extremes.loc["best_recall_p100", "paper"] == 0.08
    assert extremes.loc["min_mi_false_alarm", "paper"] == 0.96
    reference = beside.fig3_reference(reported)
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
    a1 = beside.table_a1_beside_paper(results.top_units(table), paper.reported("Table A1"))
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
    reference = beside.fig3_reference(paper.reported())
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
    with downloads.writing_to(tmp_path / "02-data"):  # the page's CSV files, not in the repo
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
    assert len(charts) == 5  # Fig. 3, and Fig. 4's jitterplot, slider and two histograms
    tables_html = "\n".join(h for h in html if "vega-embed" not in h)
    for needle in ("paper", "precision_100|ccmas", "mean_ccmas_2", "fc6.1199", "fc7.31"):
        assert needle in tables_html, needle
    for needle in (
        "**This run.** Median precision",
        "paper .08",
        "In conv5 the mean CCMAS",
        ":::{admonition} This run beside the paper",
        "Download this table as CSV",
        "Rerunning",
    ):
        assert needle in markdown + "\n".join(c.source for c in notebook.cells), needle
    # the box comes before every section of the chapter
    first = next(i for i, c in enumerate(notebook.cells) if "This run beside the paper" in str(c))
    heading = next(i for i, c in enumerate(notebook.cells) if c.source.startswith("## "))
    assert first < heading
    return markdown


def test_chapter_runs_standalone_on_a_given_store(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    store = write_store(tmp_path / "acts.h5", n_per_class=40)
    notebook = run_chapter(
        tmp_path, store=str(store), max_points=80, fig4_unit="fc7.3", units={"fc6": "0:20"}
    )
    markdown = assert_chapter_complete(notebook)
    reads = next(line for line in markdown.splitlines() if line.startswith("This run reads"))
    assert reads.startswith(f"This run reads `{store.name}`") and str(tmp_path) not in reads
    assert "fc7.3" in "\n".join(outputs(notebook, "text/html"))
    assert re.search(r"draws all 40 images of class \d and a random 40 of the other 160", markdown)
    assert list((tmp_path / "cache" / "measures").glob("acts-*.csv"))
    assert (tmp_path / "02-data" / "ch2-measures.csv").is_file()


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
    findings = beside.paper_findings(table).set_index("finding")
    assert len(findings) == 6 and findings["same"].dtype == bool
    localist = findings.loc["no unit is localist"]
    assert localist["same"] == (not table["localist"].any())
    recall = findings.loc["the best recall at perfect precision is below .1"]
    assert recall["same"] == (table["recall_p100"].max() < 0.1)
    assert "fc6:" in findings.iloc[0]["this run"]  # shares are over the fc layers
    top = results.top_units(table, ("ccmas", "precision_100"), layers=["fc6", "conv5"])
    assert list(top["layer"]) == ["fc6", "conv5", "fc6", "conv5"]


# --- the page's parameters, its file and the sentences it writes ---------------------------


def measured_table(seed: int = 0, layers=(("conv5", 6), ("fc6", 9), ("fc7", 7))) -> pd.DataFrame:
    """A measures table of generated units in the chapter's layers (five classes)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(5), 40)
    parts = [
        unit_measures(sparse_layer(rng, labels, n, 5), labels).reset_index().assign(layer=layer)
        for layer, n in layers
    ]
    return pd.concat(parts, ignore_index=True)


def changed(reported: pd.DataFrame, value: float, **where) -> pd.DataFrame:
    """`reported` with the rows matching every (column, value) of `where` set to `value`."""
    out = reported.copy()
    match = np.ones(len(out), dtype=bool)
    for column, wanted in where.items():
        match &= out[column] == wanted
    assert match.any(), where
    out.loc[match, "value"] = value
    return out


PAPER = paper.reported()


def test_top_n_and_measure_options_check_their_parameters():
    top = results.TopN.from_parameter([60, 100])
    assert (top.small, top.large, top.precision, top.precision_large) == (
        60,
        100,
        "precision_60",
        "precision_100",
    )
    assert top.like_paper and not results.TopN.from_parameter([50, 100]).like_paper
    assert results.TopN.from_parameter([100, 60]).large == 100  # the first is the small one
    for bad in ([], "60", [60, 0], [60.5], None):
        with pytest.raises(results.ChapterParameterError, match="top_n must be a list"):
            results.TopN.from_parameter(bad)
    options = results.measure_options(top, 0.5)
    assert options == {"top": (60, 100), "memory_bytes": 2**29, "progress": False}
    for bad in (0, -1, "1", True):
        with pytest.raises(results.ChapterParameterError, match="memory_gb must be a positive"):
            results.measure_options(top, bad)


def test_open_source_checks_the_choice_and_describes_the_file(tmp_path):
    path = write_store(tmp_path / "a.h5")
    source = results.open_source(path, ["fc6", "fc7"], {"fc6": "0:10"}, "fc8")
    assert source.selection == {"fc6": slice(0, 10), "fc7": slice(0, 30)}
    assert source.hidden == ["fc6", "fc7"] and (source.n_images, source.n_classes) == (150, 5)
    assert source.layer_sizes == {"conv5": 6, "fc6": 40, "fc7": 30, "fc8": 5}
    assert source.made_by == "model `generated` on `generated` (all images)"
    with pytest.raises(ValueError, match="no layer 'fc9'"):
        results.open_source(path, ["fc6"], None, "fc9")
    text = words.describe_source(source)
    assert "150 images of 5 classes, so a class holds about 30 images" in text
    assert text.startswith("This run reads `a.h5`: ") and str(tmp_path) not in text
    authors = results.ChapterSource(path, {}, source.labels, [], {}, "alexnet-merged", {})
    assert authors.made_by == "the authors' own activation files"
    assert results.measure_output(source, None, tmp_path / "cache", True, {}) is None
    options = results.measure_options(results.TopN.from_parameter([60, 100]), 0.5)
    soft = results.measure_output(source, "fc8", tmp_path / "cache", True, options)
    raw = results.measure_output(source, "fc8", tmp_path / "cache", False, options)
    assert list(soft["layer"].unique()) == ["fc8"] and len(soft) == 5
    assert soft["ccmas"].between(0, 1).all() and not soft["ccmas"].equals(raw["ccmas"])
    assert source.network == "generated on generated" and source.image_index.size == 150
    sizes = beside.layer_sizes(source, PAPER)
    assert list(sizes.loc["fc6"]) == [40, "0:10 (10)", 2738, 4096]
    assert sizes.loc["fc7", "paper: units in the layer"] == 4096


def test_the_data_file_has_the_layers_sizes_and_the_class_count():
    rows = PAPER.set_index(["measure", "layer"])["value"]
    assert rows[("layer_units", "conv5")] == 256 and rows[("layer_units", "fc6")] == 4096
    assert beside.paper_n_classes(PAPER) == 1000
    assert beside.paper_fig4_unit(PAPER) == ("fc6", 1199)
    assert beside.paper_top_ccmas_unit(PAPER) == ("fc7.31", 0.94, 0.11)
    layer, unit, values = beside.paper_appendix_c_unit(PAPER)
    assert (layer, unit, values["ccmas"], values["ccmas_2"]) == ("fc7", 0, 0.813, 0.808)


def test_measures_preview_and_fig3_marks_follow_the_top_n():
    table = measured_table()
    top = results.TopN.from_parameter([60, 100])
    assert list(figures.measures_preview(table, top).columns) == [
        "layer",
        "unit",
        "precision (top 60)",
        "CCMAS",
        "recall at precision 1",
        "max informedness",
        "false alarms at max informedness",
    ]
    assert beside.fig3_marks(PAPER, top).equals(beside.fig3_reference(PAPER))
    assert beside.fig3_marks(PAPER, results.TopN.from_parameter([50, 100])) is None


def test_fig3_table_puts_the_papers_mean_below_ccmas():
    table = measured_table()
    panels = results.fig3_panels()
    stats = results.layer_distributions(table, list(panels))
    shown = beside.fig3_table(stats, panels, ["conv5", "fc6", "fc7"], PAPER)
    rows = list(shown.index)
    assert rows[rows.index("c. CCMAS") + 1] == "c. CCMAS: the paper's mean"
    assert list(shown.loc["c. CCMAS: the paper's mean"]) == ["0.491", "0.844", "0.848"]
    fc6 = stats.set_index(["measure", "layer"]).loc[("ccmas", "fc6")]
    assert shown.loc["c. CCMAS", "fc6"] == (
        f"{fc6['mean']:.3f} ± {fc6['sem']:.3f} ({fc6['median']:.3f})"
    )
    without_fc6 = PAPER[(PAPER["layer"] != "fc6") | (PAPER["measure"] != "mean_ccmas")]
    other = beside.fig3_table(stats, panels, ["conv5", "fc6", "fc7"], without_fc6)
    assert list(other.loc["c. CCMAS: the paper's mean"]) == ["0.491", "", "0.848"]


def test_describe_fig3_follows_the_medians_and_the_papers_means():
    table = measured_table()
    top = results.TopN.from_parameter([60, 100])
    layers = ["conv5", "fc6", "fc7"]
    stats = results.layer_distributions(table, list(results.fig3_panels()))
    text = words.describe_fig3(stats, layers, top, PAPER)
    medians = table.groupby("layer")["recall_p100"].median()
    expected = ", ".join(f"{medians[layer]:.2f}" for layer in layers)
    assert text.startswith("**This run.** Median precision of the top 60 is ")
    assert f"Median recall at perfect precision is {expected}," in text
    assert "The paper's mean CCMAS is 0.491 for conv5 (this run " in text
    more = stats.copy()
    more.loc[more["measure"] == "recall_p100", "median"] = 0.5
    assert "Median recall at perfect precision is 0.50, 0.50, 0.50," in (
        words.describe_fig3(more, layers, top, PAPER)
    )
    assert "paper's mean CCMAS" not in words.describe_fig3(stats, layers, top, PAPER.iloc[:0])


def test_counts_and_extremes_beside_the_paper():
    table = measured_table()
    counts = results.quoted_counts(table)
    shown = beside.counts_beside_paper(counts, PAPER, results.TopN.from_parameter([60, 100]))
    assert shown.loc["fc7", ("precision > .9", "paper")] == 14
    assert shown.loc["fc7", ("CCMAS > .9", "paper")] == 1487
    assert shown.loc["conv5", ("units", "paper")] == 233
    other = beside.counts_beside_paper(counts, PAPER, results.TopN.from_parameter([50, 100]))
    assert other[("precision > .9", "paper")].isna().all()
    extremes = results.network_extremes(table)
    shown = beside.extremes_beside_paper(extremes, PAPER)
    assert list(shown.columns) == ["this run", "unit", "class", "paper", "paper unit"]
    assert shown.loc["best recall at perfect precision", "paper unit"] == "fc7.255"
    assert shown.loc["best recall at perfect precision", "paper"] == "0.08"
    assert shown.loc["false-alarm proportion of that unit", "paper"] == "> 0.99"  # "over 99%"


def test_describe_counts_follows_this_runs_and_the_papers_numbers():
    table = measured_table()
    counts, extremes = results.quoted_counts(table), results.network_extremes(table)
    text = words.describe_counts(counts, extremes, len(table), PAPER)
    fc7 = counts.loc["fc7"]
    assert text.startswith(
        f"**This run.** In fc7, {fc7['n_precision_above_0.9'] / fc7['units']:.1%} of this run's"
    )
    assert "in the paper's fc7 the shares are 14/2,239 = 0.6% and 1,487/2,239 = 66.4%." in text
    assert f"of this run's {len(table):,} units" in text and "(the paper found none)" in text
    assert "paper .08); " in text and "paper .91), " in text
    assert "(paper more than 99%)" in text and text.endswith("(paper 96%).")
    counts.loc["fc7", "n_localist"] = 1
    fewer = changed(PAPER, 0.07, measure="recall_p100", unit=255)
    other = words.describe_counts(counts, extremes, len(table), fewer)
    assert f"{int(counts['n_localist'].sum())} of this run's" in other and "paper .07); " in other
    no_fc7 = words.describe_counts(counts.drop(index="fc7"), extremes, len(table), PAPER)
    assert no_fc7.startswith("**This run.** In fc6, ")  # the last layer stands in for fc7


def test_fig4_unit_is_named_or_chosen_and_described(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_CACHE", str(tmp_path / "cache"))
    path = write_store(tmp_path / "a.h5")
    source = results.open_source(path, ["conv5", "fc6", "fc7"], {"fc6": "0:10"})
    top = results.TopN.from_parameter([60, 100])
    table = tables.measure_selection(path, source.selection, top=top.sizes, progress=False)
    chosen = results.fig4_unit(source, table, None, top)
    best = results.most_detector_like(table, "precision_60")
    assert (chosen.layer, chosen.index) == (best["layer"], best["unit"])
    assert chosen.activations.shape == (150,) and chosen.cls == best["precision_60_class"]
    outside = results.fig4_unit(source, table, "fc6.20", top)  # not among the measured units
    assert outside.label == "fc6.20" and outside.row["unit"] == 20
    with pytest.raises(ValueError, match="outside layer 'fc6'"):
        results.fig4_unit(source, table, "fc6.99", top)
    text = words.describe_fig4_unit(chosen, source.class_names)
    assert text.startswith(f"This run's unit is **{chosen.label}**: precision ")
    assert f"for class {chosen.cls}, CCMAS {chosen.row['ccmas']:.2f}" in text


def made_up_unit(x: np.ndarray, labels: np.ndarray, cls: int = 1) -> results.Fig4Unit:
    row = pd.Series(
        {
            "precision_60_class": cls,
            "precision_60": 0.5,
            "ccmas": 0.25,
            "max_informedness": 0.75,
            "mi_false_alarm": 0.125,
        }
    )
    return results.Fig4Unit("fc6", 7, row, np.asarray(x, dtype=float), "precision_60")


def test_fig4_beside_paper_and_its_sentences():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    x = np.maximum(rng.normal(size=200) + (labels == 1), 0)
    unit, top = made_up_unit(x, labels), results.TopN.from_parameter([60, 100])
    numbers = results.unit_figure_numbers(x, labels, 1, top=60)
    names = ["a", "b", "c", "d"]
    table = beside.fig4_beside_paper(unit, numbers, names, top, PAPER)
    theirs = "paper: fc6.1199 (Monarch butterfly)"
    assert list(table.columns) == ["this run: fc6.7 (b)", theirs]
    assert table.loc["images of its class", theirs] == 1241
    assert table.attrs["bounds"] == ["false-alarm proportion at max informedness"]
    shown = beside.fig4_shown(table)
    assert shown.loc["false-alarm proportion at max informedness", theirs] == "> 0.99"
    assert shown.loc["images at exactly 0 (all classes)", theirs] == "596,734"
    assert shown.loc["CCMAS", "this run: fc6.7 (b)"] == "0.250"
    assert shown.loc["max informedness for its class", theirs] == ""
    assert table.loc["CCMAS", "this run: fc6.7 (b)"] == 0.25
    assert beside.image_count_rows(table) == [
        "images of its class above the top-60 cut",
        "images of its class",
        "images at exactly 0 (all classes)",
        "images of its class at exactly 0",
    ]
    verdict = words.describe_fig4(unit, numbers, names, top, PAPER)
    assert verdict.startswith(f"**This run.** Unit fc6.7 puts {numbers['top60_hits']} images of b")
    assert "the paper's fc6.1199: 59 of 60" in verdict and "(paper 5% of 1,241)" in verdict
    assert "(paper 72, 5.8%)" in verdict and verdict.endswith("(paper more than 99%).")
    other = words.describe_fig4(
        unit,
        {**numbers, "n_zero_class": 3, "share_zero_class": 0.06},
        names,
        top,
        changed(PAPER, 80, measure="n_zero_class"),
    )
    assert "; 3 of them (6.0%) give exactly zero (paper 80, 5.8%)" in other
    inset = words.describe_zero_inset(numbers, 200, PAPER)
    share = numbers["n_zero_all"] / 200
    assert f"the {numbers['n_zero_all']:,} images at exactly zero ({share:.0%} of all;" in inset
    assert "the paper's unit has 596,734 of 721,536, 83%)" in inset


def test_jitter_plan_says_when_it_draws_a_sample_and_zero_overlap():
    labels = np.repeat(np.arange(4), 50)
    x = np.where(labels == 1, np.r_[np.zeros(10), np.ones(40)][np.arange(200) % 50], 0.0)
    unit, top = made_up_unit(x, labels), results.TopN.from_parameter([60, 100])
    source = results.ChapterSource(Path("a.h5"), {}, labels, list("abcd"), {}, "compendium", {})
    numbers = results.unit_figure_numbers(x, labels, 1, top=60)
    plan = figures.jitter_plan(source, unit, numbers, 80, 3, top)
    assert (
        plan.sample.size == 80
        and plan.drawn == "all 50 images of b and a random 30 of the other 150"
    )
    assert "(seed 3; `max_points = 80`)" in plan.note and plan.title.startswith("fc6.7: all 50")
    assert set(plan.thresholds) == {"max-informedness threshold for b", "top-60 cut"}
    whole = figures.jitter_plan(source, unit, numbers, 500, 3, top)
    assert whole.note is None and whole.drawn == "all 200 images" and whole.sample.size == 200
    overlap = words.describe_zero_overlap(unit, labels, whole.sample, numbers, list("abcd"))
    assert overlap.endswith("at exactly zero the 10 of them cover 150 images of other classes.")
    none_zero = made_up_unit(x + 1, labels)
    assert (
        words.describe_zero_overlap(none_zero, labels, whole.sample, numbers, list("abcd")) is None
    )


def test_table_a1_units_output_first_and_its_sentence():
    table = measured_table()
    top = results.TopN.from_parameter([60, 100])
    output = measured_table(1, (("fc8", 5),))
    a1_units = results.table_a1_units(table, ["conv5", "fc6", "fc7"], top, output)
    assert list(a1_units["layer"]) == ["fc8", "fc7", "fc6", "conv5"] * 2
    assert (
        list(results.table_a1_units(table, ["conv5", "fc6"], top)["layer"]) == ["fc6", "conv5"] * 2
    )
    a1 = beside.table_a1_beside_paper(a1_units, paper.reported("Table A1"), "precision_100")
    ties = results.top_ties(table, ["fc7", "fc6", "conv5"], "precision_100")
    text = words.describe_table_a1(table, a1, ties, top, PAPER, "fc8", True)
    best = table.loc[table["ccmas"].idxmax()]
    tied = results.highest_ccmas_units(table)
    if len(tied) == 1:
        assert f"is {best['layer']}.{best['unit']} ({best['ccmas']:.3f})" in text
    assert "(paper: fc7.31, .94 and 11%). " in text
    assert text.endswith("only to show their scores.")
    raw = words.describe_table_a1(
        table,
        a1,
        ties,
        top,
        changed(PAPER, 0.12, source="Table A1", measure="precision_100", unit=31),
        "fc8",
        False,
    )
    assert "(paper: fc7.31, .94 and 12%)" in raw and raw.endswith("measured on its raw values.")


def test_highest_ccmas_ties_are_named_together():
    table = pd.DataFrame(
        {
            "layer": ["fc6", "fc6", "fc7", "fc7"],
            "unit": [0, 1, 0, 1],
            "ccmas": [0.9996, 1.0, 0.5, 0.9990],
            "precision_100": [0.2, 0.9, 0.1, 0.5],
        }
    )
    assert list(results.highest_ccmas_units(table)["unit"]) == [0, 1]
    top = results.TopN.from_parameter([60, 100])
    a1 = pd.DataFrame(
        {
            "ranked by": ["CCMAS", "CCMAS", "precision", "precision"],
            "layer": ["fc7", "fc6"] * 2,
            "unit": ["fc7.1", "fc6.1", "fc7.0", "fc6.1"],
        }
    )
    ties = results.top_ties(table, ["fc7", "fc6"], "precision_100")
    text = words.describe_table_a1(table, a1, ties, top, PAPER)
    assert text.startswith("**This run.** 2 hidden units share the highest CCMAS, 1.000;")
    assert "ranges from 20% to 90% (paper:" in text
    assert "The two rankings pick the same unit in fc6." in text
    assert "in fc6 2 share the best CCMAS (1.000) and 1 unit has the best precision" in text
    apart = a1.assign(unit=["a", "b", "c", "d"])
    apart_ties = ties.assign(**{"units at both": 0})
    one = words.describe_table_a1(table.iloc[1:], apart, apart_ties, top, PAPER)
    assert one.startswith("**This run.** The hidden unit with the highest CCMAS is fc6.1 (1.000)")
    assert "a different unit in every layer, and no unit tops both, as in the paper" in one
    both = words.describe_table_a1(table, apart, ties, top, PAPER)
    assert "need not disagree: units that top both are in fc7 (1) and fc6 (1)," in both


def test_table_a2_pairs_and_their_sentence():
    table = measured_table()
    pairs = beside.table_a2_pairs(table, results.TopN.from_parameter([60, 100]), PAPER)
    assert len(pairs) == 10 and pairs.loc["precision_100|ccmas", "paper"] == 0.38
    gap = (pairs["correlation"] - pairs["paper"]).abs()
    text = words.describe_table_a2(pairs)
    assert f"by {gap.median():.2f} at the median and by {gap.max():.2f} at most" in text
    assert gap.idxmax().replace("|", " with ") in text
    flipped = pairs.assign(paper=-pairs["correlation"])
    assert words.describe_table_a2(flipped).startswith("**This run.** 0 of the 10 correlations")
    other = beside.table_a2_pairs(table, results.TopN.from_parameter([50, 100]), PAPER)
    assert "paper" not in other and words.describe_table_a2(other) is None


def test_appendix_c_beside_the_paper_and_its_sentence():
    table = measured_table()
    c_table = results.ccmas_vs_ccmas2(table)
    shown = beside.appendix_c_beside_paper(c_table, PAPER)
    assert shown.loc["fc6", ("mean_ccmas_2", "paper")] == 0.821
    assert (
        shown.loc["fc6", ("mean_difference", "this run")] == c_table.loc["fc6", "mean_difference"]
    )
    names = [f"k{i}" for i in range(5)]
    text = words.describe_appendix_c(c_table, table, names, PAPER)
    fc7 = table[(table["layer"] == "fc7") & (table["unit"] == 0)].iloc[0]
    assert text.startswith(
        f"**This run.** In conv5 the mean CCMAS is {c_table.loc['conv5', 'mean_ccmas']:.3f}"
    )
    assert f"Unit fc7.0 has a CCMAS of {fc7['ccmas']:.3f} for k{int(fc7['ccmas_class'])}" in text
    assert "(paper: .813 for 'maypole', .808 for 'chainsaw';" in text
    silent = table.copy()
    silent.loc[(silent["layer"] == "fc7") & (silent["unit"] == 0), "ccmas"] = np.nan
    assert words.describe_appendix_c(c_table, silent, names, PAPER).endswith(
        "Unit fc7.0 gives zero for every image, so its CCMAS is undefined."
    )
    assert words.describe_appendix_c(
        c_table, table[table["layer"] != "fc7"], names, PAPER
    ).endswith("the mean CCMAS2 " + f"{c_table.loc['fc7', 'mean_ccmas_2']:.3f}.")


def test_paper_findings_take_the_papers_side_from_the_data_file():
    table = measured_table()
    findings = beside.paper_findings(table)
    assert list(findings["paper"]) == [
        "fc7: 14 of 2,239 (0.6%)",
        "fc7: 1,487 of 2,239 (66%)",
        "none",
        ".08 (fc7.255)",
        "fewest 96%",
        ".017 to .027",
    ]
    other = changed(
        changed(PAPER, 20, measure="n_precision_above_0.9"),
        0.5,
        measure="mean_ccmas_2",
        layer="fc6",
    )
    assert (
        beside.paper_findings(table, reported=other)["paper"].iloc[0] == "fc7: 20 of 2,239 (0.9%)"
    )
    assert beside.paper_findings(table, reported=other)["paper"].iloc[-1] == ".017 to .344"
    shown = beside.findings_shown(findings)
    assert set(shown["same"]) <= {"yes", "no"} and findings["same"].dtype == bool
    assert "kind" not in shown and set(findings["kind"]) == {
        "popular",
        "localist",
        "signal",
        "ccmas2",
    }
    n_same = int(findings["same"].sum())
    assert words.describe_findings(findings).startswith(
        f"This run shows {n_same} of the 6 findings"
    )
    all_same = findings.assign(same=True)
    assert words.describe_findings(all_same).startswith("This run shows 6 of the 6 findings.")
    none = words.describe_findings(findings.assign(same=False))
    assert none.startswith("This run shows 0 of the 6 findings; not: some fc units have")


def test_describe_base_rate_follows_the_class_counts():
    text = words.describe_base_rate(10, PAPER)
    assert "Among 10 classes of about equal size a class holds 10% of the images" in text
    assert "among the paper's 1,000, 0.1%" in text and "lets through half the images" in text
    assert "With 10 classes the images above the threshold are 15% false alarms" in text
    assert "with 1,000 classes they are 95%" in text and "Chance precision" not in text
    other = words.describe_base_rate(100, changed(PAPER, 200, measure="n_classes"), catch=0.25)
    assert "With 100 classes the images above the threshold are 80% false alarms" in other
    assert "lets through 25% of the images" in other and "the paper's 200, 0.5%" in other
    here = results.ChancePrecision(60, 0.169, 0.217, 1000, 0)
    theirs = results.ChancePrecision(60, 0.031, 0.033, 1000, 0)
    chance = words.describe_base_rate(10, PAPER, here, theirs)
    assert chance.endswith("reach 0.169 here and 0.031 with the paper's classes.")


def test_page_setup_sets_the_display_and_shows_the_banner(monkeypatch):
    shown = []
    monkeypatch.setattr(page, "display", shown.append)
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    with pd.option_context("display.precision", 6, "display.max_columns", 20):
        page.setup("smoke", {"seed": 1}, precision=2, max_columns=30)
        assert pd.get_option("display.precision") == 2
        assert pd.get_option("display.max_columns") == 30
        page.setup("default", {})
        assert pd.get_option("display.precision") == 3
        assert pd.get_option("display.max_columns") == 30  # left as it was
    assert [m.data for m in shown] == [
        page.profile_banner("smoke", {"seed": 1}).data,
        page.profile_banner("default", {}).data,
    ]
    assert "`seed = 1`" in shown[0].data and "notebooks/params/smoke.yml" in shown[0].data
    assert any(
        f[0] == "ignore" and f[1] is not None and f[1].pattern == "IProgress not found"
        for f in warnings.filters
    )


# --- the mismatch said first: the box, and the signal-detection verdicts -------------------------


def generated_source(labels: np.ndarray, n_classes: int = 5, fmt: str = "compendium"):
    """A ChapterSource for sentences that need only its labels, provenance and selection."""
    return results.ChapterSource(
        Path("acts.h5"),
        {"conv5": slice(0, 6), "fc6": slice(0, 9), "fc7": slice(0, 7)},
        labels,
        [f"c{i}" for i in range(n_classes)],
        {},
        fmt,
        {"model": "small-alexnet-x", "dataset": "fashion-mnist:test"},
    )


def paper_like(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with signal-detection measures as poor as the paper's: no unit past its
    extremes (best recall at perfect precision .08, fewest false alarms 96%)."""
    return table.assign(recall_p100=0.01, mi_false_alarm=0.99, max_informedness=0.2)


def box_for(table: pd.DataFrame) -> str:
    labels = np.repeat(np.arange(5), 40)
    extremes = beside.paper_extremes(PAPER)["paper"]
    findings = beside.paper_findings(table, "precision_60", PAPER)
    beyond = results.beyond_extremes(
        table,
        extremes["best_recall_p100"],
        extremes["best_max_informedness"],
        extremes["min_mi_false_alarm"],
    )
    here = results.chance_precision(labels, 60, draws=50)
    theirs = results.chance_precision(results.equal_class_labels(1000, 100), 60, draws=50)
    return words.summary_box(findings, beyond, None, generated_source(labels), here, theirs, PAPER)


def test_summary_box_says_first_whether_the_run_shows_the_papers_contrast():
    table = measured_table()
    box = box_for(table)
    assert box.startswith(":::{admonition} This run beside the paper") and box.endswith(":::")
    assert "in fc7, 14 of the 2,239 units measured have a precision above .9" in box
    assert "(the small AlexNet on Fashion-MNIST, 5 classes)" in box
    past = int((table["recall_p100"] > 0.08).sum())
    assert f"{past:,} ({past / len(table):.0%}) have a recall at perfect precision above" in box
    assert "does not show the paper's contrast" in box  # generated units are easy to detect
    like = box_for(paper_like(table))
    assert "shows the paper's contrast: the signal-detection measures make no unit" in like
    assert f"Of its {len(table):,} units counted, 0 (0%) have a recall" in like
    mixed = box_for(paper_like(table).assign(mi_false_alarm=0.5))
    assert "shows the paper's contrast only in part" in mixed
    assert "Here 5 classes against the paper's 1,000" in like
    authors = words.describe_why_briefly(
        generated_source(np.arange(3), fmt="alexnet-merged"),
        results.ChancePrecision(60, 0.1, 0.1, 1, 0),
        results.ChancePrecision(60, 0.1, 0.1, 1, 0),
        PAPER,
    )
    assert "reads the authors' own activation files" in authors


def test_signal_verdict_reads_the_signal_findings_only():
    findings = beside.paper_findings(measured_table(), "precision_60", PAPER)
    assert words.signal_verdict(findings.assign(same=True)) == "shows"
    assert words.signal_verdict(findings.assign(same=False)) == "not"
    one = findings.assign(same=findings["finding"].str.startswith("the best recall"))
    assert words.signal_verdict(one) == "partly"
    localist_only = findings.assign(same=findings["kind"] == "localist")
    assert words.signal_verdict(localist_only) == "not"


def test_describe_fig3_says_whether_the_signal_detection_measures_sit_low():
    layers = ["conv5", "fc6", "fc7"]
    top = results.TopN.from_parameter([60, 100])
    high = measured_table()
    stats = results.layer_distributions(high, list(results.fig3_panels()))
    text = words.describe_fig3(stats, layers, top, PAPER)
    medians = high.groupby("layer")["mi_false_alarm"].median()
    assert (medians < 0.96).all()
    assert "Unlike the paper, the signal-detection measures do not sit low here" in text
    assert (
        "in every layer the median unit has fewer false alarms than the paper's fewest (96%)"
        in text
    )
    low = paper_like(high)
    low_stats = results.layer_distributions(low, list(results.fig3_panels()))
    low_text = words.describe_fig3(low_stats, layers, top, PAPER)
    assert "As in the paper, the signal-detection measures sit well below precision" in low_text
    assert "Unlike" not in low_text


def test_beyond_extremes_counts_units_past_the_papers_best():
    table = pd.DataFrame(
        {
            "recall_p100": [0.0, 0.5, 0.09],
            "max_informedness": [0.95, 0.2, 0.91],
            "mi_false_alarm": [0.5, 0.97, 0.96],
        }
    )
    assert results.beyond_extremes(table, 0.08, 0.91, 0.96) == {
        "units": 3,
        "recall_p100": 2,
        "max_informedness": 1,
        "mi_false_alarm": 1,
    }


# --- chance -------------------------------------------------------------------------------------


def test_chance_precision_is_the_largest_class_among_random_images():
    labels = np.repeat([0, 1], 50)
    # two images from two classes of 50: both of one class with probability 2 * 50/100 * 49/99
    same = 2 * 0.5 * 49 / 99
    chance = results.chance_precision(labels, 2, draws=4000, seed=1)
    assert chance.mean == pytest.approx(same + 0.5 * (1 - same), abs=0.02)
    assert chance.high == 1.0 and (chance.n, chance.draws, chance.seed) == (2, 4000, 1)
    assert results.chance_precision(labels, 2, draws=100, seed=1) == results.chance_precision(
        labels, 2, draws=100, seed=1
    )
    many = results.chance_precision(results.equal_class_labels(6000, 1000), 60, draws=200)
    assert 1 / 60 <= many.mean < 0.05  # never below 1/N, though 1/C is .001
    assert np.bincount(results.equal_class_labels(10, 3)).tolist() == [4, 3, 3]
    with pytest.raises(results.ChapterParameterError, match="1 <= n <= 100"):
        results.chance_precision(labels, 101)


def test_describe_chance_names_the_floor_and_the_papers_classes():
    here = results.ChancePrecision(60, 0.169, 0.217, 1000, 0)
    theirs = results.ChancePrecision(60, 0.031, 0.033, 1000, 0)
    text = words.describe_chance(here, theirs, 10, PAPER)
    assert "a top-60 precision of 0.169 on average here (1,000 seeded draws" in text
    assert "more than 1/10 = 0.100" in text and "below 1/60 = 0.017" in text
    assert "paper's 1,000 classes of equal size the same draws give 0.031" in text
    other = words.describe_chance(here, theirs, 10, changed(PAPER, 500, measure="n_classes"))
    assert "paper's 500 classes" in other


def test_measure_null_per_layer_or_none(tmp_path):
    path = write_store(tmp_path / "a.h5")
    source = results.open_source(path, ["conv5", "fc6"], {"fc6": "0:5"})
    options = results.measure_options(results.TopN.from_parameter([60, 100]), 0.5)
    assert results.measure_null(source, 0, 0, None, options) is None
    null = results.measure_null(source, 20, 0, tmp_path / "cache", options)
    assert list(null.table["layer"].value_counts().sort_index()) == [6, 5]
    assert set(null.band["layer"]) == {"conv5", "fc6"} and "precision_60_p" in null.table
    assert results.check_permutations(0) == 0 and results.check_permutations(100) == 100
    for bad in (-1, 2.5, True, "100"):
        with pytest.raises(results.ChapterParameterError, match="n_permutations must be"):
            results.check_permutations(bad)


# --- Fig. 3's outliers ---------------------------------------------------------------------------


def test_fig3_outliers_are_the_units_beyond_the_whiskers():
    table = measured_table().assign(unit=lambda t: t["unit"])
    table.loc[0, "ccmas"] = 5.0  # far above the rest of conv5
    measures = ["ccmas", "recall_p100", "precision_60"]
    outliers = results.fig3_outliers(table, measures)
    stats = results.layer_distributions(table, measures).set_index(["layer", "measure"])
    counted = outliers.groupby(["layer", "measure"])["n"].sum()
    for key, row in stats.iterrows():
        assert counted.get(key, 0) == row["n_outliers"], key
    top = outliers[(outliers["measure"] == "ccmas") & (outliers["value"] == 5.0)].iloc[0]
    assert top["label"] == "conv5.0" and top["n"] == 1
    chart = plots.box_plots(
        stats.reset_index(),
        {"ccmas": "c. CCMAS"},
        outliers=outliers,
        panel_width=250,
        panel_height=210,
    ).to_dict()
    panel = chart["concat"][0]
    assert (panel["width"], panel["height"]) == (250, 210)
    shapes = [layer["mark"].get("shape") for layer in panel["layer"]]
    assert "cross" in shapes and plots.OUTLIER_MARK in json.dumps(chart)


def test_fig3_chart_fits_two_panels_to_a_row():
    table = measured_table()
    panels = results.fig3_panels()
    stats = results.layer_distributions(table, list(panels))
    outliers = results.fig3_outliers(table, list(panels))
    spec = figures.fig3_chart(stats, panels, ["conv5", "fc6", "fc7"], None, outliers).to_dict()
    assert spec["columns"] == 2 and len(spec["concat"]) == 9
    assert spec["config"]["legend"]["labelLimit"] == 0
    assert 2 * figures.FIG3_WIDTH + 150 < 720  # two panels and their axes in the text column


# --- Table A1's ties ---------------------------------------------------------------------------


def test_top_ties_count_the_units_at_the_top_of_each_ranking():
    table = pd.DataFrame(
        {
            "layer": ["fc6"] * 4 + ["fc7"] * 2,
            "unit": [0, 1, 2, 3, 0, 1],
            "ccmas": [1.0, 0.9998, 0.5, 1.0, 0.7, 0.8],
            "precision_100": [1.0, 0.5, 1.0, 1.0, 0.9, 0.3],
        }
    )
    ties = results.top_ties(table, ["fc7", "fc6"], "precision_100")
    assert list(ties.index) == ["fc7", "fc6"]
    assert ties.loc["fc6"].tolist() == [1.0, 3, 1.0, 3, 2]
    assert ties.loc["fc7"].tolist() == [0.8, 1, 0.9, 1, 0]


# --- Figs. 2 and 4: units and their images -----------------------------------------------------


def test_top_images_and_example_images():
    x = np.array([0.0, 3.0, 1.0, 3.0, 0.0, 2.0, 0.0, 5.0])
    labels = np.array([1, 1, 1, 0, 1, 1, 1, 1])
    assert results.top_images(x, 3).tolist() == [7, 1, 3]  # ties by image number
    examples = results.example_images(x, labels, 1, n=2, seed=0)
    assert set(examples["zero"]) <= {0, 4, 6} and len(examples["zero"]) == 2
    assert examples["zero"].tolist() == sorted(examples["zero"])
    assert examples["max"].tolist() == [7, 1]
    mean = x[labels == 1].mean()  # 11/7
    assert examples["mean"].tolist() == [5, 2] and abs(x[5] - mean) < abs(x[1] - mean)
    none = results.example_images(x + 1, labels, 1, n=2)
    assert none["zero"].size == 0


def test_closest_precision_unit():
    table = pd.DataFrame(
        {
            "layer": ["conv5"] * 4 + ["fc6"],
            "unit": [0, 1, 2, 3, 0],
            "precision_60": [0.5, 0.85, 0.83, 0.83, 0.84],
            "ccmas": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    row = results.closest_precision_unit(table, "conv5", 0.84)
    assert row["unit"] == 3  # .83 and .85 are as near; .83's second unit has the higher CCMAS
    with pytest.raises(KeyError, match="no units in layer 'fc7'"):
        results.closest_precision_unit(table, "fc7", 0.84)


def test_image_grids_show_each_picture_with_its_caption():
    pictures = (np.arange(5 * 28 * 28) % 256).astype(np.uint8).reshape(5, 28, 28)
    grid = figures.image_grid(pictures, [4, 0], ["a", "b<"], [True, False], "Top")
    assert grid.count("<img") == 2 and "b&lt;" in grid and "<strong>Top</strong>" in grid
    assert plots.HIGHLIGHT_COLOUR in grid and plots.OTHER_COLOUR in grid
    top = figures.top_images_grid(pictures, [1, 3], np.array([0, 1, 2, 1, 0]), list("xyz"), 1, "t")
    assert top.count(f"solid {plots.HIGHLIGHT_COLOUR}") == 2 and ">y</figcaption>" in top
    examples = {"zero": np.array([0]), "mean": np.array([], dtype=int), "max": np.array([3, 4])}
    shown = figures.examples_grid(pictures, examples, np.array([0, 1, 2, 3.5, 4]), "z")
    assert "z, at exactly zero" in shown and "near the mean" not in shown and ">3.5<" in shown
    source = generated_source(np.arange(5)).__class__(
        Path("a.h5"), {}, np.arange(5), list("abcde"), {}, "alexnet-merged", {}
    )
    assert figures.pictures(source) is None
    assert "not available to the compendium" in figures.no_images_note(source)


def test_describe_fig2_and_the_papers_fig2():
    text = words.describe_paper_fig2(PAPER)
    assert "a 'lamp' unit of conv5 with a precision of .84" in text
    assert "nearest .84" in words.describe_paper_fig2(
        PAPER
    ) and "nearest .70" in words.describe_paper_fig2(changed(PAPER, 0.7, source="Fig. 2 caption"))
    row = pd.Series(
        {
            "layer": "conv5",
            "unit": 18,
            "precision_60": 0.75,
            "precision_60_class": 1,
            "ccmas": 0.5,
            "max_informedness": 0.6,
            "mi_class": 1,
            "mi_false_alarm": 0.25,
        }
    )
    labels = np.array([1, 1, 1, 0, 2])
    shown = words.describe_fig2(row, [0, 1, 2, 3], labels, ["a", "b", "c"], TOP)
    assert shown.startswith("**This run.** Unit conv5.18 puts 3 images of b among its top 4")
    assert "the others are 1 a" in shown and "25% of the images above it" in shown


TOP = results.TopN.from_parameter([60, 100])


# --- the paper's words from the data file ------------------------------------------------------


def test_the_papers_bounds_are_read_from_its_notes():
    assert beside.is_lower_bound(PAPER, "mi_false_alarm", None, 3290)
    assert beside.is_lower_bound(PAPER, "mi_false_alarm", "fc6", 1199)
    assert not beside.is_lower_bound(PAPER, "max_informedness", None, 3290)
    assert not beside.is_lower_bound(PAPER, "no_such_measure")
    assert beside.shown_paper(0.99, True) == "> 0.99" and beside.shown_paper(0.5, False) == "0.50"
    assert beside.shown_paper(float("nan"), True) == ""


def test_the_papers_prose_carries_the_data_files_numbers():
    counts = words.describe_paper_counts(PAPER)
    assert "in fc7, 14 units had a precision above .9 and 1,487 a CCMAS above .9" in counts
    assert "(unit 3290, its layer not named; for Monarch butterfly)" in counts
    assert "with more than 99% false alarms" in counts and "fewer than 96%" in counts
    assert "in fc7, 20 units" in words.describe_paper_counts(
        changed(PAPER, 20, measure="n_precision_above_0.9")
    )
    fig4 = words.describe_paper_fig4(PAPER)
    assert fig4.startswith("The paper illustrates the disagreement with unit fc6.1199: 59 of")
    assert "(precision .98)" in fig4 and "72 of them (5.8%)" in fig4 and "more than 99%" in fig4
    a1 = words.describe_paper_a1(PAPER)
    assert "different units in every layer: fc7.31" in a1 and "only 11 of its top 100" in a1
    a2 = words.describe_paper_a2(PAPER)
    assert "(.38)" in a2 and "(.30)" in a2 and "negative" in a2 and "from -.19 to -.68" in a2
    c = words.describe_paper_c(PAPER)
    assert ".491 against .464 in conv5" in c and "fc7.0, with a CCMAS of .813 for 'maypole'" in c
    data = words.describe_paper_data(PAPER)
    assert "721,536 ImageNet training images" in data and "233 of conv5's 256" in data
    assert "2,738 of fc6's" in data and "over 1,000 classes" in data
    units = words.describe_units_measured(generated_source(np.arange(5)), PAPER)
    assert "(233 of conv5, 2,738 of fc6 and 2,239 of fc7)" in units
    assert "(6 of conv5, 9 of fc6 and 7 of fc7)" in units
    reason = words.describe_ccmas2_reason(10, PAPER)
    assert "Among 1,000 classes" in reason and "about 1/9 of the pool" in reason


def test_the_notebook_types_no_paper_number():
    """Every paper number on the page comes from the data file: none is typed in a markdown
    cell of the notebook (the method's own constants, such as the top 60 or a .9 bar, are not
    the paper's findings and are left out of the check)."""
    notebook = jupytext.read(CHAPTER)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    rows = PAPER[
        PAPER["source"].str.startswith(
            ("Sec. 2", "Sec. 3.1", "Fig. 2", "Fig. 4", "Table A1", "Table A2", "Appendix C")
        )
        & ~PAPER["source"].str.startswith("Sec. 2 behavioural")
    ]
    method = {0.0, 0.5, 0.75, 0.8, 0.9, 0.95, 1.0, 60.0, 100.0}
    forms = set()
    for value in rows["value"].astype(float):
        if value in method:
            continue
        if value < 1:
            forms |= {f"{value:.2f}", paper.as_printed(value, 2), f"{value:.0%}"}
            forms |= (
                {f"{value:.3f}", paper.as_printed(value, 3)} if round(value, 2) != value else set()
            )
        else:
            forms |= {f"{value:g}", f"{value:,.0f}"}
    for unit in rows["unit"].dropna().astype(int):
        if unit > 10:
            forms.add(str(unit))
    found = sorted(
        form for form in forms if re.search(rf"(?<![\w.,]){re.escape(form)}(?![\w%]|[.,]\d)", text)
    )
    assert found == [], f"paper numbers typed in the notebook's prose: {found}"


def test_describe_bars_adds_what_the_paper_counts():
    table = measured_table().assign(detector=True)
    bars = detectors.detector_counts(table)
    text = words.describe_bars(bars, "the net", ["conv5", "fc6", "fc7"], PAPER)
    assert text.startswith("**This run.** In the hidden layers of the net")
    assert "(none in its three layers)" in text
    brief = words.describe_bars_briefly(bars)
    total = int(bars["counted"].sum())
    assert f"{total:,} (100%) are detectors" in brief and "0 are grandmother units" in brief


def test_exercises_are_computed_from_the_run():
    table = measured_table().assign(detector=False)
    labels = np.repeat(np.arange(5), 40)
    x = np.maximum(np.random.default_rng(0).normal(size=200) + (labels == 1), 0)
    unit = made_up_unit(x, labels)
    numbers = results.unit_figure_numbers(x, labels, 1, top=60)
    here = results.ChancePrecision(60, 0.3, 0.4, 100, 0)
    items = words.exercises(table, unit, numbers, here, list("abcde"), TOP)
    assert [e.label for e in items] == [
        "ex-alexnet-precise",
        "ex-alexnet-cut",
        "ex-alexnet-bars",
        "ex-alexnet-chance",
    ]
    gap = table["precision_60"] - table["max_informedness"]
    best = table.loc[gap.idxmax()]
    assert items[0].solution.startswith(f"It is {best['layer']}.{best['unit']}: precision")
    assert f"({numbers['top60_hits']} of {numbers['class_count']:,})" in items[1].solution
    zhou = int((table["precision_60"] >= 0.75).sum())
    assert items[2].solution.startswith(f"{zhou:,} units clear Zhou's bar only")
    assert "About 0.300 (100 seeded draws" in items[3].solution
    without = words.exercises(
        table.drop(columns="detector"), unit, numbers, here, list("abcde"), TOP
    )
    assert "ex-alexnet-bars" not in [e.label for e in without]
    md = exercises.block(items, in_book=True).data
    assert md.count("{solution}") == 4 and ":class: dropdown" in md


def test_network_names_what_was_measured():
    labels = np.arange(3)
    small = generated_source(labels)
    assert words.network_title(small) == "the small AlexNet on Fashion-MNIST"
    authors = generated_source(labels, fmt="alexnet-merged")
    assert words.network_title(authors) == "AlexNet on ImageNet (the authors' activations)"
    torch = results.ChapterSource(
        Path("a.h5"),
        {},
        labels,
        [],
        {},
        "compendium",
        {"model": "alexnet-x", "dataset": "imagenet"},
    )
    assert torch.network == "AlexNet (torchvision) on ImageNet"
    network = words.describe_network(
        dataclasses.replace(
            small,
            attrs={
                **small.attrs,
                "train_config": json.dumps(
                    {"epochs": 5, "model": {"widths": [8, 16], "fc_width": 128}}
                ),
            },
        ),
        PAPER,
    )
    assert "16 filters in its last convolutional layer and 128 units" in network
    assert "256 in conv5, 4,096 in fc6 and 4,096 in fc7" in network and "5 epochs" in network
    assert "the paper's" in words.describe_network(authors, PAPER)
