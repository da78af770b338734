"""Tuning helpers against Optuna, NumPy and scikit-learn, and their checks of bad input."""

import logging
import tarfile
import warnings

import numpy as np
import optuna
import pytest
import torch
from sklearn.model_selection import ParameterGrid

from dlnotes.hparams import Uniform
from dlnotes.tuning import (
    JOB_NAME_MAX,
    IntRange,
    best_so_far,
    expected_improvement,
    grid_values,
    load_artefact,
    make_sampler,
    save_artefact,
    space_from_ranges,
    suggest,
    trial_log,
    validate_job_name,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"lr": Uniform(1e-4, 1.0, log=True), "width": IntRange(2, 256, log=True), "act": ["relu", "tanh"]}


def test_job_name_limit_is_32_inclusive():
    assert JOB_NAME_MAX == 32
    assert validate_job_name("a" * 32) == "a" * 32
    assert validate_job_name("digits-mlp-bayes-1") == "digits-mlp-bayes-1"
    with pytest.raises(ValueError, match="1 to 32 characters, got 33"):
        validate_job_name("a" * 33)
    with pytest.raises(ValueError, match="1 to 32"):
        validate_job_name("")
    for bad in ["-start", "end-", "under_score", "dot.name", "space name"]:
        with pytest.raises(ValueError, match="letters, digits and hyphens"):
            validate_job_name(bad)
    with pytest.raises(TypeError, match="str"):
        validate_job_name(32)


def test_int_range_checks():
    assert IntRange(2, 8, log=True).high == 8
    with pytest.raises(ValueError, match="low < high"):
        IntRange(5, 5)
    with pytest.raises(ValueError, match="low >= 1"):
        IntRange(0, 8, log=True)
    with pytest.raises(TypeError, match="int"):
        IntRange(1.5, 8)
    with pytest.raises(TypeError, match="bool"):
        IntRange(1, 8, log="yes")


def test_suggest_matches_fixed_trial_and_distributions():
    fixed = {"lr": 0.01, "width": 16, "act": "tanh"}
    assert suggest(optuna.trial.FixedTrial(fixed), SPACE) == fixed
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    point = suggest(trial, SPACE)
    dist = trial.distributions
    assert dist["lr"] == optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
    assert dist["width"] == optuna.distributions.IntDistribution(2, 256, log=True)
    assert dist["act"] == optuna.distributions.CategoricalDistribution(["relu", "tanh"])
    assert 1e-4 <= point["lr"] <= 1.0 and 2 <= point["width"] <= 256 and point["act"] in ("relu", "tanh")
    with pytest.raises(TypeError, match="Optuna trial"):
        suggest({"lr": 0.1}, SPACE)
    with pytest.raises(TypeError, match="non-empty dict"):
        suggest(trial, {})
    with pytest.raises(TypeError, match="'lr' must be"):
        suggest(trial, {"lr": 0.1})


def test_grid_values_are_geomspace_and_linspace():
    grid = grid_values(SPACE, 4)
    np.testing.assert_allclose(grid["lr"], np.geomspace(1e-4, 1.0, 4), rtol=1e-12)
    assert grid["width"] == sorted({int(round(v)) for v in np.geomspace(2, 256, 4)})
    assert grid["act"] == ["relu", "tanh"]
    np.testing.assert_allclose(grid_values({"p": Uniform(0.0, 0.5)}, 3)["p"], np.linspace(0, 0.5, 3))
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        grid_values(SPACE, 1)
    assert [len(v) for v in grid_values(SPACE, {"lr": 4, "width": 3}).values()] == [4, 3, 2]
    with pytest.raises(ValueError, match="no number of grid values for 'width'"):
        grid_values(SPACE, {"lr": 4})


def test_grid_sampler_visits_the_whole_grid_once():
    space = {"lr": Uniform(1e-3, 1.0, log=True), "width": IntRange(4, 64, log=True)}
    study = optuna.create_study(sampler=make_sampler("Grid", 0, space, n_grid=3))
    study.optimize(lambda t: suggest(t, space)["lr"], n_trials=9)
    tried = sorted(tuple(sorted(t.params.items())) for t in study.trials)
    expected = sorted(tuple(sorted(p.items())) for p in ParameterGrid(grid_values(space, 3)))
    np.testing.assert_allclose(
        np.array([[v for _, v in p] for p in tried]), np.array([[v for _, v in p] for p in expected])
    )


def test_make_sampler_kinds_seeds_and_checks():
    kinds = {
        "Random": optuna.samplers.RandomSampler,
        "TPE": optuna.samplers.TPESampler,
        "Bayesian": optuna.samplers.GPSampler,
    }
    for strategy, cls in kinds.items():
        assert isinstance(make_sampler(strategy, 0), cls)

    def run(seed):
        study = optuna.create_study(sampler=make_sampler("Random", seed))
        study.optimize(lambda t: suggest(t, SPACE)["lr"], n_trials=5)
        return [t.params for t in study.trials]

    assert run(3) == run(3) and run(3) != run(4)
    with pytest.raises(ValueError, match="strategy must be one of"):
        make_sampler("Hyperband", 0)
    with pytest.raises(ValueError, match="needs the space"):
        make_sampler("Grid", 0)
    with pytest.raises(ValueError, match="seed"):
        make_sampler("Random", -1)
    with pytest.raises(ValueError, match="n_startup_trials"):
        make_sampler("TPE", 0, n_startup_trials=0)


def test_samplers_emit_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for strategy in ("Random", "TPE", "Bayesian"):
            make_sampler(strategy, 0, n_startup_trials=2)


def test_best_so_far_is_a_running_min_or_max():
    values = [3.0, 1.0, 2.0, 0.5, 4.0]
    np.testing.assert_array_equal(best_so_far(values), np.minimum.accumulate(values))
    np.testing.assert_array_equal(best_so_far(values, minimize=False), np.maximum.accumulate(values))
    with pytest.raises(ValueError, match="not nan"):
        best_so_far([1.0, float("nan")])
    with pytest.raises(TypeError, match="non-empty list"):
        best_so_far([])
    with pytest.raises(TypeError, match="minimize"):
        best_so_far([1.0], minimize="yes")


def test_artefact_round_trip(tmp_path):
    net = torch.nn.Linear(3, 2)
    meta = {"params": {"lr": 0.01, "width": 8}, "val_loss": 0.25, "trial": 4}
    path = save_artefact(tmp_path / "trial-004" / "model.tar.gz", net.state_dict(), meta)
    state, back = load_artefact(path)
    assert back == meta
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(state)
    for a, b in zip(net.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == ["meta.json", "model.pt"]


def test_artefact_bad_input(tmp_path):
    with pytest.raises(ValueError, match=".tar.gz"):
        save_artefact(tmp_path / "model.pt", {}, {})
    with pytest.raises(TypeError, match="state_dict"):
        save_artefact(tmp_path / "m.tar.gz", {"w": [1.0]}, {})
    with pytest.raises(TypeError, match="meta"):
        save_artefact(tmp_path / "m.tar.gz", {}, [1])
    with pytest.raises(FileNotFoundError, match="no artefact"):
        load_artefact(tmp_path / "missing.tar.gz")
    odd = tmp_path / "odd.tar.gz"
    (tmp_path / "x.txt").write_text("x")
    with tarfile.open(odd, "w:gz") as tar:
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    with pytest.raises(ValueError, match="holds"):
        load_artefact(odd)


def test_trial_log_writes_its_own_file_and_closes_it(tmp_path):
    path = tmp_path / "trial-000" / "train.log"
    with trial_log(path, "job-trial-0") as log:
        log.info("lr = %.3f", 0.1)
    assert path.read_text() == "INFO dlnotes.tuning.job-trial-0: lr = 0.100\n"
    logger = logging.getLogger("dlnotes.tuning.job-trial-0")
    assert logger.handlers == [] and logger.propagate is False
    with pytest.raises(RuntimeError):
        with trial_log(tmp_path / "b.log", "b") as log:
            log.info("before")
            raise RuntimeError("boom")
    assert logging.getLogger("dlnotes.tuning.b").handlers == []
    assert (tmp_path / "b.log").read_text().strip().endswith("before")
    with pytest.raises(ValueError, match="name"):
        with trial_log(tmp_path / "c.log", ""):
            pass


def test_expected_improvement_against_numerical_integration():
    from scipy import integrate, stats

    mean = torch.tensor([0.3, 0.26, 0.1, 0.25], dtype=torch.float64)
    std = torch.tensor([0.1, 0.001, 0.05, 0.2], dtype=torch.float64)
    ours = expected_improvement(mean, std, 0.25)
    for m, s, e in zip(mean.tolist(), std.tolist(), ours.tolist()):
        ref, _ = integrate.quad(
            lambda f, m=m, s=s: max(0.25 - f, 0.0) * stats.norm.pdf(f, m, s),
            m - 12 * s,
            m + 12 * s,
            points=[0.25],
        )
        assert abs(e - ref) < 1e-9
    with pytest.raises(ValueError, match="std must be > 0"):
        expected_improvement(mean, torch.zeros_like(std), 0.25)
    with pytest.raises(ValueError, match="same shape"):
        expected_improvement(mean, std[:2], 0.25)
    with pytest.raises(TypeError, match="tensors"):
        expected_improvement([0.1], std, 0.25)
    with pytest.raises(TypeError, match="best"):
        expected_improvement(mean, std, float("nan"))


def test_space_from_sagemaker_ranges():
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"}
        ],
        "IntegerParameterRanges": [
            {"Name": "width", "MinValue": "2", "MaxValue": "256", "ScalingType": "Logarithmic"}
        ],
        "CategoricalParameterRanges": [{"Name": "act", "Values": ["relu", "tanh"]}],
    }
    assert space_from_ranges(ranges) == SPACE
    with pytest.raises(ValueError, match="keys among"):
        space_from_ranges({"Ranges": []})
    with pytest.raises(ValueError, match="ScalingType"):
        space_from_ranges(
            {
                "IntegerParameterRanges": [
                    {"Name": "w", "MinValue": "1", "MaxValue": "2", "ScalingType": "Auto"}
                ]
            }
        )
    with pytest.raises(ValueError, match="numbers as strings"):
        space_from_ranges(
            {"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "small", "MaxValue": "1"}]}
        )
    with pytest.raises(ValueError, match="two ranges"):
        space_from_ranges(
            {"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0", "MaxValue": "1"}] * 2}
        )
