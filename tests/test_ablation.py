"""Ablation and selectivity regularisation (chapter 7): the methods and the page's verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from compendium.build.cli import main
from compendium.chapters import ablation as chapter
from compendium.chapters import paper
from compendium.measures import unit_measures
from compendium.methods import ablation as ab
from compendium.methods import regularisation as reg
from compendium.networks.models import SmallAlexNet, SmallAlexNetConfig
from compendium.networks.training import fit, train_config

N_CLASSES = 3


class Planted(nn.Module):
    """Three hidden units, unit k = relu(input k), and the logits equal to the hidden units:
    unit k alone carries class k."""

    def __init__(self) -> None:
        super().__init__()
        self.fc6 = nn.Sequential(nn.Linear(N_CLASSES, N_CLASSES), nn.ReLU())
        self.fc8 = nn.Linear(N_CLASSES, N_CLASSES)
        with torch.no_grad():
            for linear in (self.fc6[0], self.fc8):
                linear.weight.copy_(torch.eye(N_CLASSES))
                linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc8(self.fc6(x))


def planted_images(per_class: int = 200, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Class k: a 1 at input k plus noise everywhere, so only unit k separates class k."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(N_CLASSES), per_class)
    x = np.eye(N_CLASSES)[labels] + rng.normal(0, 0.1, (len(labels), N_CLASSES))
    return torch.tensor(x, dtype=torch.float32), labels


def small_alexnet(seed: int = 0) -> SmallAlexNet:
    torch.manual_seed(seed)
    return SmallAlexNet(SmallAlexNetConfig(widths=(4, 8, 8, 8, 8), fc_width=16)).eval()


def random_images(n: int = 48, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=generator)
    return x, np.arange(n) % 10


# --- ablation ------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_ablating_the_planted_unit_drops_its_class_to_chance_and_leaves_the_others(fast):
    x, y = planted_images()
    ablator = ab.Ablator(Planted(), x, y, "fc6", fast=fast)
    assert ablator.method == ("stored activations" if fast else "full forward pass")
    assert ablator.base_accuracy == 1.0
    table = ab.single_unit_ablation(ablator, progress=False)
    row = table.set_index("unit").loc[0]
    accuracy_0 = ablator.base_class_accuracy[0] - row["drop_class_0"]
    assert accuracy_0 <= 1 / N_CLASSES  # chance or below: unit 0 alone told class 0 apart
    assert row["drop_class_1"] == 0 and row["drop_class_2"] == 0
    assert row["drop"] == pytest.approx(row["drop_class_0"] / N_CLASSES)
    activations = torch.relu(x).numpy()
    measures = unit_measures(activations, y).reset_index().assign(layer="fc6")
    damage = ab.own_class_damage(table, measures, "mi_class").set_index("unit")
    assert damage.loc[0, "own_class"] == 0
    assert damage.loc[0, "own_drop"] == row["drop_class_0"] and damage.loc[0, "other_drop"] == 0


def test_ablating_nothing_changes_nothing():
    model = small_alexnet()
    x, y = random_images()
    with torch.inference_mode():
        intact = model(x)
    for fast in (True, False):
        ablator = ab.Ablator(model, x, y, "fc6", fast=fast)
        assert torch.allclose(ablator.logits([]), intact, atol=1e-5)
        assert ablator.accuracy([])[0] == ablator.base_accuracy
    with ab.ablated(model, {"fc6": []}), torch.inference_mode():
        assert torch.equal(model(x), intact)


@pytest.mark.parametrize("layer", ["conv3", "conv5", "fc6", "fc7"])
def test_the_fast_path_equals_the_full_forward_pass(layer, tmp_path):
    model = small_alexnet(seed=1)
    x, y = random_images(seed=1)
    stored = tmp_path / f"{layer}.npy"
    ablator = ab.Ablator(model, x, y, layer, stored_path=stored)
    assert ablator.method == "stored activations" and stored.is_file()
    for units in ([0], [ablator.n_units - 1], [1, 2, 3], list(range(ablator.n_units))):
        fast, full = ablator.logits(units), ablator.full_logits(units)
        assert torch.allclose(fast, full, rtol=1e-4, atol=1e-5), units
    again = ab.Ablator(model, x, y, layer, stored_path=stored)  # reads the stored input back
    assert torch.allclose(again.logits([1]), ablator.logits([1]), atol=1e-6)
    fast_table = ab.single_unit_ablation(ablator, progress=False)
    full_table = ab.single_unit_ablation(ab.Ablator(model, x, y, layer, fast=False), progress=False)
    pd.testing.assert_frame_equal(fast_table, full_table)


def test_a_network_whose_forward_is_not_its_children_in_order_gets_full_passes():
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc6 = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
            self.fc8 = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc8(self.fc6(x)) + x  # the input also skips to the output

    torch.manual_seed(0)
    x, y = planted_images(per_class=10)
    ablator = ab.Ablator(Skip(), x, y, "fc6")
    assert ablator.method == "full forward pass"
    assert torch.allclose(ablator.logits([0]), ablator.full_logits([0]))


def test_top_k_ranks_by_the_measure_and_draws_random_units():
    x, y = planted_images(per_class=30)
    ablator = ab.Ablator(Planted(), x, y, "fc6")
    measures = pd.DataFrame(
        {
            "layer": "fc6",
            "unit": [0, 1, 2],
            "ccmas": [0.2, 0.9, 0.5],
            "mi_false_alarm": [0.1, 0.5, 0.9],
        }
    )
    assert ab.ranked_units(measures, "ccmas").tolist() == [1, 2, 0]
    assert ab.ranked_units(measures, "mi_false_alarm").tolist() == [0, 1, 2]  # lower first
    sweep = ab.top_k_ablation(ablator, measures, ["ccmas"], [1, 3], n_random=3, progress=False)
    assert set(sweep["ranking"]) == {"ccmas", "random"} and sweep["seed"].nunique() == 3
    everything = sweep[sweep["k"] == 3]["accuracy"]
    assert (everything == everything.iloc[0]).all()  # all three units: the same whatever the order
    assert ab.k_sweep(1024) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def test_spearman_permutation_finds_a_planted_correlation_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    rho, p, n = ab.spearman_permutation(x, x + rng.normal(0, 0.5, 200), 500)
    assert rho > 0.8 and p < 0.01 and n == 200
    rho, p, _ = ab.spearman_permutation(x, rng.normal(size=200), 500)
    assert abs(rho) < 0.2 and p > 0.05
    assert np.isnan(ab.spearman_permutation([1, 1, 1, 1], [1, 2, 3, 4])[0])
    assert ab.sign_flip_p(np.full(30, 0.1), 200) < 0.01 and ab.sign_flip_p([0.1, -0.1], 200) > 0.5


# --- bad input -------------------------------------------------------------------------------


def test_a_unit_outside_the_layer_is_refused():
    x, y = planted_images(per_class=5)
    ablator = ab.Ablator(Planted(), x, y, "fc6")
    with pytest.raises(ab.AblationError, match="unit 3 is outside layer 'fc6'.*0..2"):
        ablator.logits([3])
    with pytest.raises(ab.AblationError, match="unit -1 is outside"):
        ab.single_unit_ablation(ablator, [-1], progress=False)


def test_an_unknown_layer_is_refused_with_the_layers_there_are():
    x, y = random_images(n=4)
    with pytest.raises(ab.AblationError, match="no layer 'fc9'; its layers are conv1, .*fc8"):
        ab.Ablator(small_alexnet(), x, y, "fc9")


def test_k_larger_than_the_layer_is_refused():
    x, y = planted_images(per_class=5)
    ablator = ab.Ablator(Planted(), x, y, "fc6")
    measures = pd.DataFrame({"layer": "fc6", "unit": [0, 1, 2], "ccmas": [0.1, 0.2, 0.3]})
    with pytest.raises(ab.AblationError, match="k = 4 is larger than 'fc6', which has 3 units"):
        ab.top_k_ablation(ablator, measures, ["ccmas"], [1, 4], progress=False)
    with pytest.raises(ab.AblationError, match="no column 'precision_60'"):
        ab.top_k_ablation(ablator, measures, ["precision_60"], [1], progress=False)


def test_cli_ablate_writes_the_table_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "fc7.csv"
    args = ["ablate", "--profile", "smoke", "--n-images", "40", "--out", str(out)]
    assert main([*args, "--layer", "fc7", "--units", "0:5"]) == 0
    table = pd.read_csv(out)
    assert table["unit"].tolist() == [0, 1, 2, 3, 4] and "drop_class_9" in table
    assert main([*args, "--layer", "fc9"]) == 2
    assert "no layer 'fc9'" in capsys.readouterr().err
    assert main([*args, "--layer", "fc7", "--units", "1000:1030"]) == 2
    assert "unit 1024 is outside layer 'fc7'" in capsys.readouterr().err


# --- selectivity regularisation -------------------------------------------------------------


def test_the_regularisers_si_is_ccmas_with_class_means_on_the_same_batch():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.repeat(np.arange(4), 30))
    acts = rng.gamma(2.0, 1.0, (120, 7)) * (1 + 3 * (labels[:, None] == np.arange(7) % 4))
    si = reg.class_selectivity(torch.tensor(acts), torch.tensor(labels))
    engine = unit_measures(acts, labels)["ccmas_classmean"].to_numpy()
    np.testing.assert_allclose(si.numpy(), engine, rtol=1e-6)


def test_the_penalty_adds_minus_alpha_si_of_the_layers_to_the_loss():
    model = small_alexnet().train()
    x, _ = random_images(n=60, seed=3)
    y = torch.arange(60) % 10
    penalty = reg.SelectivityPenalty(0.5, ["conv5", "fc7"])
    adjust = penalty(model)
    kept = {}
    hooks = [
        getattr(model, layer).register_forward_hook(
            lambda m, i, out, name=layer: kept.update({name: out})
        )
        for layer in ("conv5", "fc7")
    ]
    model(x)
    for hook in hooks:
        hook.remove()
    per_unit = np.concatenate(
        [
            unit_measures(reg.unit_activations(kept[layer]).detach().numpy(), y.numpy(), top=(5,))[
                "ccmas_classmean"
            ].to_numpy()
            for layer in ("conv5", "fc7")
        ]
    )
    expected = np.nan_to_num(per_unit, nan=0.0).mean()  # a silent unit counts 0, as in training
    loss = adjust(torch.tensor(2.0), y)
    assert float(loss.detach()) == pytest.approx(2.0 - 0.5 * expected, rel=1e-5)
    penalty.remove()


def tiny_training():
    return train_config(
        {"epochs": 1, "n_train": 256, "model": {"widths": [4, 8, 8, 8, 8], "fc_width": 32}}
    )


@pytest.mark.slow
def test_alpha_zero_reproduces_plain_training_bit_for_bit():
    config = tiny_training()
    plain, plain_report = fit(config, threads=1)
    zero, zero_report = reg.fit_regularised(reg.RegularisedConfig(config, 0.0), threads=1)
    pushed, _ = reg.fit_regularised(reg.RegularisedConfig(config, 1.0), threads=1)
    for name, tensor in plain.state_dict().items():
        assert torch.equal(tensor, zero.state_dict()[name]), name
    assert plain_report["epochs"][0]["train_loss"] == zero_report["epochs"][0]["train_loss"]
    assert not torch.equal(plain.fc6.linear.weight, pushed.fc6.linear.weight)


def test_bad_regularisation_settings_are_refused():
    with pytest.raises(reg.RegularisationError, match="no layers \\['fc9'\\]"):
        reg.RegularisedConfig(tiny_training(), 1.0, ("fc9",))
    with pytest.raises(reg.RegularisationError, match="summary must be one of max, mean"):
        reg.RegularisedConfig(tiny_training(), 1.0, ("fc6",), "median")
    with pytest.raises(reg.RegularisationError, match="repeat"):
        reg.sweep_configs(tiny_training(), [0, 0.0], ["fc6"])
    with pytest.raises(reg.RegularisationError, match="holds one"):
        reg.class_selectivity(torch.ones(4, 2), torch.zeros(4, dtype=torch.long))


# --- the page's parameters and verdicts -------------------------------------------------------


def test_the_chapter_plan_names_each_bad_parameter():
    plan = chapter.ChapterPlan.from_parameters()
    assert plan.alphas == (-1.0, -0.3, 0.0, 0.3, 1.0) and plan.sweep_n_train == 20000
    assert chapter.ChapterPlan.from_parameters(sweep_n_train=None).sweep_n_train is None
    for bad, match in (
        ({"layers": "fc6"}, "layers must be a list"),
        ({"n_random": 0}, "n_random must be a whole number"),
        ({"alphas": [0, "x"]}, "alphas must be a list of numbers"),
        ({"alphas": [1, 1]}, "repeat"),
        ({"rankings": ["ccmas", "loudness"]}, "loudness"),
        ({"material_drop": 2}, "between 0 and 1"),
        ({"sweep_summary": "median"}, "sweep_summary"),
    ):
        with pytest.raises(chapter.AblationParameterError, match=match):
            chapter.ChapterPlan.from_parameters(**bad)


def summary_row(layer="fc6", own=0.05, other=0.001, p=0.001, largest=0.004, class_drop=0.2):
    return {
        "layer": layer,
        "own class by": "mi_class",
        "units": 100,
        "intact accuracy": 0.9,
        "mean drop": largest / 4,
        "largest drop": largest,
        "largest-drop unit": f"{layer}.7",
        "mean own-class drop": own,
        "mean other-class drop": other,
        "share own > others": 0.8,
        "p": p,
        "largest class drop": class_drop,
        "its unit and class": f"{layer}.3: Bag",
    }


def test_the_single_unit_verdicts_follow_the_numbers():
    hurting = pd.DataFrame([summary_row(largest=0.03)])
    harmless = pd.DataFrame([summary_row()])
    assert "Some single units cost more than 1.00 points" in chapter.describe_single_units(
        hurting, 0.01
    )
    text = chapter.describe_single_units(harmless, 0.01)
    assert "No single unit costs more than 1.00 points" in text and "In fc6" in text
    yes = chapter.hurts_own_class(harmless, 0.01).iloc[0, 1]
    slightly = chapter.hurts_own_class(pd.DataFrame([summary_row(own=0.002)]), 0.01).iloc[0, 1]
    no = chapter.hurts_own_class(pd.DataFrame([summary_row(p=0.4)]), 0.01).iloc[0, 1]
    assert yes.startswith("yes:") and slightly.startswith("slightly:") and no.startswith("no:")


def test_the_related_findings_are_judged_from_this_runs_numbers():
    reported = paper.reported()
    assert set(chapter.related_reported(reported)["study"]) == set(chapter.STUDIES)
    summary = pd.DataFrame([summary_row(), summary_row("fc7")])
    found = {
        "own": pd.DataFrame(
            [{"layer": "fc6", "measure": "ccmas_classmean", "rho": 0.5, "p": 0.001, "n": 100}]
        ),
        "overall": pd.DataFrame(
            [{"layer": "fc6", "measure": "ccmas_classmean", "rho": 0.05, "p": 0.4, "n": 100}]
        ),
    }
    shown = chapter.this_run_findings(summary, found, None, 0.01, 0.3)
    table = chapter.related_findings(reported, shown).set_index("finding")
    assert (table.loc[table["same"] != "", "same"] == "yes").all()  # a run like Zhou et al.'s
    assert table["same"].eq("").sum() == 2  # the regularisation rows: no sweep given
    against = chapter.this_run_findings(
        pd.DataFrame([summary_row(largest=0.05, p=0.5)]), found, None, 0.01, 0.3
    )
    flipped = chapter.related_findings(reported, against)
    assert "it differs on" in chapter.describe_related(flipped)


def sweep_rows(accuracies, sis, alphas=(-1.0, 0.0, 1.0)):
    return pd.DataFrame(
        [
            {
                "alpha": a,
                "layer": "fc6",
                "test accuracy": acc,
                "SI": si,
                "units": 10,
                "silent": 0,
            }
            for a, acc, si in zip(alphas, accuracies, sis, strict=True)
        ]
    )


def test_the_sweep_verdict_follows_accuracy_and_selectivity():
    like_leavitt = sweep_rows([0.86, 0.85, 0.70], [0.2, 0.4, 0.8])
    shown = chapter.this_run_findings(None, None, like_leavitt, 0.01, 0.3)
    assert shown["accuracy_falls_when_selectivity_reduced"][0] is False
    assert shown["accuracy_falls_when_selectivity_increased"][0] is True
    text = chapter.describe_sweep(like_leavitt)
    assert (
        "rising with every step of alpha" in text
        and "alpha = 1: SI 0.800, accuracy 70.0% (lower" in text
    )
    collapsed = sweep_rows([0.10, 0.85, 0.84], [0.0, 0.4, 0.8])
    shown = chapter.this_run_findings(None, None, collapsed, 0.01, 0.3)
    assert shown["accuracy_falls_when_selectivity_reduced"][0] is True
    assert "(no change)" in chapter.describe_sweep(collapsed)


def test_the_top_k_verdict_compares_with_random_units():
    rows = [("fc6", "random", 8, 0.80, 0.01, 5), ("fc6", "ccmas", 8, 0.60, np.nan, 1)]
    rows.append(("fc6", "precision_60", 8, 0.80, np.nan, 1))
    summary = pd.DataFrame(rows, columns=["layer", "ranking", "k", "accuracy", "sd", "draws"])
    text = chapter.describe_top_k(summary)
    assert "ranking by CCMAS (60.0%) costs more accuracy than random units" in text
    assert "ranking by precision (top 60) costs as much as random units" in text


def test_the_sweep_says_when_si_moves_against_the_regulariser():
    rewarded_but_silenced = sweep_rows([0.84, 0.85, 0.58], [0.2, 0.4, 0.1])
    rewarded_but_silenced["silent"] = [0, 0, 6]
    rewarded_but_silenced["ccmas_classmean"] = [0.2, 0.4, 0.5]
    text = chapter.describe_sweep(rewarded_but_silenced)
    assert "alpha = 1: SI 0.100 (6 of 10 units silent; 0.500 over the others), SI moved " in text
    assert "alpha = -1: SI 0.200, accuracy 84.0% (no change)" in text
    shown = chapter.this_run_findings(None, None, rewarded_but_silenced, 0.01, 0.3)
    assert shown["accuracy_falls_when_selectivity_increased"][0] is True
    assert shown["accuracy_falls_when_selectivity_reduced"][0] is False


def test_a_finding_that_holds_in_some_layers_only_is_called_partly():
    reported = paper.reported()
    found = {
        target: pd.DataFrame(
            [
                {"layer": "fc6", "measure": "ccmas_classmean", "rho": 0.1, "p": 0.2, "n": 9},
                {"layer": "fc7", "measure": "ccmas_classmean", "rho": 0.4, "p": 0.001, "n": 9},
            ]
        )
        for target in ("own", "overall")
    }
    shown = chapter.this_run_findings(None, found, None, 0.01, 0.3)
    assert shown["selectivity_predicts_overall_damage"][0] == chapter.PARTLY
    table = chapter.related_findings(reported, shown)
    assert set(table.loc[table["this run"].str.startswith("in some layers"), "same"]) == {"partly"}
    assert "it agrees in some layers only on" in chapter.describe_related(table)


def test_silent_units_are_left_out_of_the_summaries_and_ranked_last():
    measures = pd.DataFrame(
        {
            "layer": "fc6",
            "unit": [0, 1, 2, 3],
            "localist_gap": [-0.5, -0.2, -0.9, 0.0],  # unit 3 is silent: a gap of 0
            "mi_recall": [0.8, 0.7, 0.6, 1.0],
            "mi_specificity": [0.9, 0.8, 0.7, 0.0],
        }
    )
    plan = chapter.ChapterPlan.from_parameters(layers=["fc6"])
    split = chapter.silent_split(measures, plan)
    assert split.silent["unit"].tolist() == [3] and 3 not in split.kept["unit"].tolist()
    assert ab.ranked_units(chapter.ranking_measures(split), "localist_gap").tolist() == [1, 0, 2, 3]
    kept_too = chapter.silent_split(
        measures, chapter.ChapterPlan.from_parameters(layers=["fc6"], include_silent=True)
    )
    assert ab.ranked_units(chapter.ranking_measures(kept_too), "localist_gap").tolist() == [
        3,
        1,
        0,
        2,
    ]


def test_the_exercises_solutions_follow_the_tables():
    from compendium.chapters import ablation_exercises

    summary = pd.DataFrame([summary_row("conv5", largest=0.002), summary_row("fc6", largest=0.03)])
    own = pd.DataFrame(
        [
            {"layer": "fc6", "measure": "precision_60", "rho": 0.10, "p": 0.2, "n": 100},
            {"layer": "fc6", "measure": "ccmas", "rho": 0.40, "p": 0.0005, "n": 100},
            {"layer": "fc7", "measure": "precision_60", "rho": 0.35, "p": 0.01, "n": 100},
            {"layer": "fc7", "measure": "ccmas", "rho": 0.20, "p": 0.04, "n": 100},
        ]
    )
    sweep = sweep_rows([0.86, 0.85, 0.70], [0.2, 0.4, 0.8])
    costliest, predictor, price = ablation_exercises.exercises(summary, {"own": own}, sweep, 0.01)
    assert "which unit of fc6" in costliest.question and "Which class pays" in costliest.question
    assert costliest.solution.startswith("fc6.7 costs 3.00 points of overall accuracy")
    assert "more than the chapter's material drop of 1.00 points" in costliest.solution
    cheap = ablation_exercises.costliest_unit(summary, 0.05)
    assert "so cheaply" in cheap.question and "make up for the one" in cheap.solution
    constant = {"own": own.assign(rho=np.nan)}
    assert ablation_exercises.best_predictor(constant) is None
    assert "fc6: CCMAS, rho = +0.40 (p < .001); fc7: precision (top 60)" in predictor.solution
    assert "best in 1 of 2 layers" in predictor.solution
    assert "SI is 0.200 at alpha = -1, 0.400 at alpha = 0 and 0.800 at alpha = 1" in price.solution
    assert "test accuracy is 0.8600, 0.8500 and 0.7000" in price.solution
    assert (
        "Against alpha = 0, penalising selectivity (alpha = -1) costs nothing and rewarding it "
        "(alpha = 1) costs 15.00 points of accuracy." in price.solution
    )
    one_way = ablation_exercises.selectivity_price(sweep_rows([0.85, 0.7], [0.4, 0.1], (0, 1)))
    assert "penalising" not in one_way.solution and "Which direction" not in one_way.question
    assert "SI is 0.400 at alpha = 0 and 0.100 at alpha = 1" in one_way.solution
    assert ablation_exercises.exercises(None, None, None) == []
