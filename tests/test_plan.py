"""The GPU plan (server command lines, lm-eval calls) is a reviewed snapshot."""

import pytest

from evals.config.matrix import load_matrix
from evals.planning.plan import render_plan
from evals.plugin.snapshots import PlanSnapshot


@pytest.fixture
def plan_snapshot(snapshot):
    return snapshot.use_extension(PlanSnapshot)


@pytest.mark.parametrize("profile", ["seed", "full"])
def test_gpu_plan(profile, plan_snapshot):
    plan = render_plan(load_matrix(), profile)
    assert plan["gpu"] is True
    assert plan_snapshot(name=profile) == plan


def test_gpu_plan_keeps_the_seed_settings():
    plan = render_plan(load_matrix(), "seed")
    command = plan["servers"]["nvfp4"]["command"]
    for flag in ("--tensor-parallel-size", "--enforce-eager", "--disable-custom-all-reduce"):
        assert flag in command
    assert command[command.index("--max-model-len") + 1] == "4096"
    answer_only = plan["cases"]["bf16-math500-answer_only"]
    assert answer_only["limit"] == 100 and answer_only["gen_kwargs"]["max_gen_toks"] == 256
    assert answer_only["gen_kwargs"]["chat_template_kwargs"] == {"enable_thinking": False}


def test_thinking_cases_stop_only_at_end_of_turn():
    for profile in ("seed", "full"):
        for case_id, call in render_plan(load_matrix(), profile)["cases"].items():
            if call["gen_kwargs"]["chat_template_kwargs"]["enable_thinking"]:
                assert call["gen_kwargs"]["until"] == ["<|im_end|>"], case_id


@pytest.mark.parametrize("verb", ["plan", "estimate", "power", "fetch"])
def test_cli_names_a_config_error_without_a_traceback(verb, monkeypatch, capsys):
    import evals.__main__ as cli
    from evals.config.matrix import ConfigError

    def broken():
        raise ConfigError("evals/config/matrix.yaml:12: profiles.tiny: duplicate key (first at line 9)")

    monkeypatch.setattr(cli, "load_matrix", broken)
    assert cli.main([verb, "--profile", "tiny"]) == 2
    assert capsys.readouterr().err == f"python -m evals {verb}: evals/config/matrix.yaml:12: profiles.tiny: duplicate key (first at line 9)\n"


def test_the_estimate_follows_the_config_and_takes_measured_lengths_from_baselines(tmp_path, capsys):
    import dataclasses

    from evals.artifacts.types import GateTerms, Record
    from evals.planning.estimate import estimate
    from evals.__main__ import main

    matrix = load_matrix()
    full = matrix.cases("full")
    planned = {e.precision: e for e in estimate(matrix, full, tmp_path)}  # no baselines: planning's lengths
    assert planned["bf16"].sources == ("planning",)
    # Twice the bandwidth halves every decode step: half the GPU-hours.
    gpu = dataclasses.replace(matrix.planning.gpu, bandwidth_tb_s=2 * matrix.planning.gpu.bandwidth_tb_s)
    faster = dataclasses.replace(matrix, planning=dataclasses.replace(matrix.planning, gpu=gpu))
    assert estimate(faster, full, tmp_path)[0].gpu_hours == pytest.approx(planned["bf16"].gpu_hours / 2)

    # A baseline whose responses were half the planned length halves that case's tokens.
    case = next(c for c in matrix.cases("full") if c.id == "bf16-aime24-think")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / f"{case.id}.json").write_text(Record(
        case.id, "full", "", {}, GateTerms(1e-4, 0.01, 0.05, 0.95), "integer_match[prefer_final]", 0, 54, {}, 0.0,
        matrix.planning.tokens(case) / 2, {}).text)
    measured = {e.precision: e for e in estimate(matrix, full, tmp_path)}
    from evals.planning.power import items
    assert planned["bf16"].output_tokens - measured["bf16"].output_tokens == \
        pytest.approx(items(case) * case.repeats * matrix.planning.tokens(case) / 2)
    assert measured["bf16"].sources == ("baseline", "planning") and measured["fp8"] == planned["fp8"]

    assert main(["estimate", "--profile", "full"]) == 0
    out = capsys.readouterr().out
    assert all(f"| {p} | 10 |" in out for p in ("bf16", "fp8", "nvfp4")) and "GPU-hours per run" in out


@pytest.mark.parametrize("profile", ["seed", "full"])
def test_the_run_makes_the_call_the_plan_shows(profile, monkeypatch):
    """What the runner hands lm-eval (simple_evaluate's arguments, the task's repeats, the
    model's arguments) is, for every case, what the plan snapshot shows."""
    import lm_eval.evaluator

    from evals.lmeval import runner

    seen = {}

    def simple_evaluate(model, tasks, task_manager, **kwargs):
        [task] = tasks
        seen.update(task=task.config.task, repeats=task.config.repeats, **kwargs, model=model)
        raise runner.RequestsCollected([])

    monkeypatch.setattr(lm_eval.evaluator, "simple_evaluate", simple_evaluate)
    plan = render_plan(load_matrix(), profile)

    class Server:
        served_name, url = "served", "http://127.0.0.1:9"
        headers: dict = {}

    for case in load_matrix().cases(profile):
        seen.clear()
        runner.case_requests(case, Server())
        model = seen.pop("model")
        shown = {k: v for k, v in plan["cases"][case.id].items() if k not in ("precision", "baseline_repeats")}
        assert shown.pop("model") == "suite-chat-completions" and isinstance(model, runner.SuiteChatCompletions)
        model_args = shown.pop("model_args")
        assert seen == shown, case.id
        assert (model._concurrent, model._max_gen_toks, model.max_length + 1, model._seed) == (
            model_args["num_concurrent"], model_args["max_gen_toks"], model_args["max_length"], model_args["seed"])
