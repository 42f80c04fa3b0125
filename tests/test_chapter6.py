"""Chapter 6's page functions (compendium.chapters.performance): the benchmark files read
as they are, and sentences, tables and exercises that follow their numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from compendium.chapters import paper
from compendium.chapters import performance as chapter

MACHINE = "Test CPU, 2 cores, 8 GiB, no GPU"
GPU = "Test CPU, 16 cores, 128 GiB, Test GPU"


def block(**extra) -> pd.DataFrame:
    row = {
        "n_images": 100_000,
        "n_units": 64,
        "n_classes": 100,
        "ours_s_per_unit": 0.01,
        "loop_s_per_unit": 1.5,
        "floor_s_per_unit": 0.008,
        "loop_over_ours": 150.0,
        "ours_over_floor": 1.5,
        "machine": MACHINE,
        "date": "2026-12-01",
        **extra,
    }
    return pd.DataFrame([row])


def scale() -> pd.DataFrame:
    rows = [
        ("layer", "ours-numpy", "fc6", 721_536, 4096, 500.0, 1.0, None),
        ("layer", "floor", "fc6", 721_536, 4096, 250.0, 0.9, None),
        ("layer", "loop", "fc6", 721_536, 4096, 600_000.0, 0.2, 2.0),
        ("series", "ours-numpy", "", 10_000, 128, 0.3, None, None),
        ("series", "floor", "", 10_000, 128, 0.1, None, None),
        ("series", "ours-numpy", "", 100_000, 128, 2.0, None, None),
        ("series", "floor", "", 100_000, 128, 2.5, None, None),
        ("series", "ours-numpy", "", 100_000, 512, 8.0, None, None),
        ("series", "floor", "", 100_000, 512, 9.0, None, None),
    ]
    columns = ["benchmark", "method", "layer", "n_images", "n_units", "seconds"]
    table = pd.DataFrame(
        [r[:6] + (r[6], r[7]) for r in rows],
        columns=[*columns, "peak_rss_gib", "extrapolated_from_units"],
    )
    return table.assign(machine=MACHINE, date="2026-12-01")


def chunks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layout": ["contiguous", "columns", "store"],
            "chunks": [None, "(721536, 1)", "(8192, 32)"],
            "write_s": [0.5, 60.0, 2.0],
            "read_s": [2.5, 6.0, 2.0],
            "cold_cache": [True, True, True],
            "machine": MACHINE,
            "date": "2026-12-01",
        }
    )


def test_a_missing_file_names_the_script_to_run(tmp_path):
    with pytest.raises(chapter.BenchmarkError, match=r"run `\.venv/bin/python bench/scale\.py`"):
        chapter.read_results(tmp_path, "scale")


def test_the_block_sentence_follows_what_the_file_records():
    old = chapter.describe_block(block())
    assert "150 times less than the per-class loop" in old
    assert "1.5 times the time of one argsort per unit" in old
    assert "predates the packed-key sort" in old
    new = chapter.describe_block(
        block(
            ours_over_sort_floor=1.6,
            workers=2,
            speedup_all_workers=1.8,
            sort_floor_s_per_unit=0.006,
        )
    )
    assert "1.6 times the time of a packed-key sort per unit" in new
    assert "predates" not in new and "With all 2 workers it runs 1.8 times as fast" in new
    faster = chapter.describe_block(block(ours_over_floor=0.8))
    assert "faster (0.80 times the time) than one argsort per unit" in faster


def test_the_block_table_is_narrow_and_in_milliseconds():
    table = chapter.block_table(block(sort_floor_s_per_unit=0.006, ours_over_sort_floor=1.6))
    assert table.shape[1] == 1
    assert table.loc["package, 1 worker (ms per unit)"].iloc[0] == pytest.approx(10.0)
    assert f"{chapter.SORT_FLOOR} (ms)" in table.index


def test_method_names_say_what_each_method_is():
    assert chapter.method_label("floor") == "one argsort per unit"
    assert chapter.method_label("ours-numpy") == "package (numpy, every core)"
    assert chapter.method_label("ours-numpy-1-worker") == "package (numpy, 1 worker)"
    assert chapter.method_label("ours-torch") == "package (torch)"
    assert chapter.method_label("loop (cold read)") == "per-class loop (cold read)"


def test_whole_layers_are_compared_with_the_argsort():
    table = chapter.layer_table(scale())
    ratio = table.set_index("method")["/ one argsort per unit"]
    assert ratio["package (numpy, every core)"] == pytest.approx(2.0)
    assert table.set_index("method").loc["per-class loop", "note"] == "extrapolated from 2 units"
    text = chapter.describe_layers(scale())
    assert "the package took 8.3 min, 2.0 times the time of one argsort per unit" in text
    assert "about 6.9 days, 1,200 times longer" in text


def test_the_series_is_described_from_its_ratios():
    table = chapter.series_table(scale())
    assert list(table.columns) == [
        "images",
        "units",
        "package (s)",
        "one argsort per unit (s)",
        "package / one argsort per unit",
    ]
    text = chapter.describe_series(table)
    assert "between 0.80 times (at 100,000 images x 128 units) and 3.00 times" in text
    assert "faster of the two at 2 of the 3 sizes" in text
    rows = chapter.series_rows(scale(), "n_units")
    assert set(rows["n_images"]) == {100_000} and set(rows["n_units"]) == {128, 512}
    chapter.series_chart(scale(), "n_units").to_dict()


def test_the_layouts_are_ranked_from_their_times():
    table = chapter.chunks_table(chunks())
    assert table.loc[0, "chunks (images, units)"] == "none (contiguous)"
    text = chapter.describe_chunks(table)
    assert "reads the layer back in 2.0 s, the fastest of the 3 layouts" in text
    assert "the slowest to write is `columns` (60.0 s)" in text


def test_gpu_figures_appear_once_the_file_has_them():
    assert "No figures of the torch backend on a GPU" in chapter.describe_gpu(scale())
    gpu = pd.concat(
        [
            scale(),
            pd.DataFrame(
                [
                    {
                        "benchmark": "layer",
                        "method": "ours-torch",
                        "layer": "fc6",
                        "n_images": 721_536,
                        "n_units": 4096,
                        "seconds": 30.0,
                        "machine": GPU,
                        "date": "2026-12-02",
                    },
                    {
                        "benchmark": "layer",
                        "method": "ours-numpy",
                        "layer": "fc6",
                        "n_images": 721_536,
                        "n_units": 4096,
                        "seconds": 90.0,
                        "machine": GPU,
                        "date": "2026-12-02",
                    },
                ]
            ),
        ]
    )
    text = chapter.describe_gpu(gpu)
    assert text.startswith(f"On {GPU} (2026-12-02) the torch backend measured fc6")
    assert "in 30 s, against 90 s for the numpy backend" in text


def test_the_exercises_are_computed_from_the_figures():
    reported = paper.reported()
    series = chapter.series_table(scale())
    found = {
        e.label: e
        for e in chapter.exercises(scale(), series, chapter.chunks_table(chunks()), reported)
    }
    assert set(found) == {
        "ex-performance-paper-layers",
        "ex-performance-argsort",
        "ex-performance-chunks",
    }
    units = int(reported.loc[reported["measure"] == "layer_units", "value"].sum())
    per_unit = 500.0 / 4096
    assert f"{per_unit:.3f} s per" in found["ex-performance-paper-layers"].solution
    assert f"{units:,} units" in found["ex-performance-paper-layers"].question
    assert "Its ratio there is 0.80" in found["ex-performance-argsort"].solution
    assert "30 times the store's time" in found["ex-performance-chunks"].solution


def test_the_banner_and_the_paper_scale_come_from_the_files():
    run = chapter.run_description(block(), scale(), chunks())
    assert f"{MACHINE} on 2026-12-01" in run["Recorded"]
    text = chapter.describe_paper_scale(paper.reported())
    assert "91% of conv5's 256 units" in text and "721,536" in text
    loaded = chapter.describe_load(block(load_before=3.0, load_after=5.0))
    assert "ran from 3.0 to 5.0 on 2 cores" in loaded and "shared" in loaded


def test_table_figures_have_no_exponents():
    assert [chapter.figure_text(v) for v in (1311.6, 12.63, 0.7612, float("nan"))] == [
        "1,312",
        "12.6",
        "0.761",
        "",
    ]
