"""evals/config/matrix.yaml is validated on load: every error names the file and the key."""

import copy

import pytest
import yaml

from evals.config.paths import MATRIX_FILE
from evals.config.matrix import ConfigError, load_matrix

BASE = yaml.safe_load(MATRIX_FILE.read_text())


def load_with(tmp_path, edit):
    raw = copy.deepcopy(BASE)
    edit(raw)
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_matrix(path)


def test_shipped_matrix_expands_to_the_documented_cases():
    matrix = load_matrix()
    full = matrix.cases("full")
    assert len(full) == 30  # 3 precisions x (aime24: 4 modes, math500: 2, aime25: 4)
    assert {c.id for c in full} >= {"fp8-aime24-think_final", "bf16-math500-think", "nvfp4-aime25-int_only"}
    assert all(c.gpu for c in full) and not any(c.gpu for c in matrix.cases("tiny"))
    assert [c.id for c in matrix.cases("tiny")] == [c.id for c in full]  # the same matrix on the CPU
    seed = {c.id: c for c in matrix.cases("seed")}
    assert seed["bf16-aime24-answer_only"].generation["max_gen_toks"] == 256
    assert seed["bf16-aime24-answer_only"].limit == 30 and seed["bf16-math500-answer_only"].limit == 100
    think = next(c for c in full if c.id == "bf16-aime24-think")
    assert think.generation["max_gen_toks"] == 38912 and think.generation["temperature"] == 0.6
    assert think.repeats == 15 and think.baseline_repeats == 54 and think.generation["until"] == ["<|im_end|>"]
    assert think.as_baseline().repeats == 54 and think.as_baseline().baseline and not think.baseline
    assert think.margin(matrix.gate.margin) == 0.05 and answer_margin(matrix) == 0.03
    assert set(matrix.pools) == {"all", "aime_thinking", "aime_non_thinking", "math500"}
    assert matrix.pools["aime_thinking"].selects(think) and not matrix.pools["math500"].selects(think)
    answer = next(c for c in full if c.id == "bf16-math500-answer_only")
    assert answer.generation["presence_penalty"] == 1.5 and answer.generation["max_gen_toks"] == 32768


def answer_margin(matrix) -> float:
    return next(c for c in matrix.cases("full") if c.task.name == "math500").margin(matrix.gate.margin)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda r: r["gate"].update(alpha=1), r"gate\.alpha: must be the chance .* in \(0, 0\.5\); got 1"),
        (lambda r: r["gate"]["alpha_shares"].update(case=0.5), r"gate\.alpha_shares: the shares must add up to 1"),
        (lambda r: r["gate"]["alpha_shares"].pop("recovery"), r"gate\.alpha_shares: needs a share for each kind"),
        (lambda r: r["gate"].update(margin=3), r"gate\.margin: must be a share of accuracy in \(0, 1\), e\.g\. 0\.05"),
        (lambda r: r["tasks"]["aime24"].update(margin=5), r"tasks\.aime24\.margin: must be a share of accuracy"),
        (lambda r: r["pools"].update(odd={"tasks": ["gsm8k"]}), r"pools\.odd\.tasks: unknown tasks \['gsm8k'\]"),
        (lambda r: r["pools"].update(odd={"modes": []}), r"pools\.odd\.modes: expected a non-empty list"),
        (lambda r: r["profiles"]["full"].update(baseline_repeats={"aime24": 4}),
         r"profiles\.full\.baseline_repeats\.aime24: a baseline needs at least the run's samples per item \(15\)"),
        (lambda r: r["profiles"]["tiny_greedy"].update(baseline_repeats={"aime24": 4}),
         r"4 samples of aime24 under greedy decoding would all be the same"),
        (lambda r: r["profiles"]["tiny"].update(baseline_repeats={"aime24": 2}),
         r"profiles\.tiny\.baseline_repeats\.aime24: a baseline needs at least the run's samples per item \(4\)"),
        (lambda r: r["planning"]["weights_gb"].update(fp8=0), r"planning\.weights_gb\.fp8: must be a positive number"),
        (lambda r: r["planning"]["weights_gb"].pop("nvfp4"), r"planning\.weights_gb: expected \{precision: GB\} for every precision \['bf16', 'fp8', 'nvfp4'\]"),
        (lambda r: r["planning"]["gpu"].pop("bandwidth_tb_s"), r"planning\.gpu: expected the keys \['bandwidth_efficiency', 'bandwidth_tb_s'"),
        (lambda r: r["planning"]["gpu"].update(bandwidth_efficiency=1.5), r"planning\.gpu\.bandwidth_efficiency: must be a share"),
        (lambda r: r["planning"]["model_shape"].update(kv_heads=0.5), r"planning\.model_shape\.kv_heads: must be a positive integer"),
        (lambda r: r["planning"]["output_spread"]["aime"].pop("thinking"), r"planning\.output_spread\.aime: expected \{thinking"),
        (lambda r: r["planning"]["output_tokens"].pop("math"), r"planning\.output_tokens: expected one entry per task kind"),
        (lambda r: r["modes"]["think"].update(temprature=0.6), r"modes\.think: unknown key\(s\) \['temprature'\]"),
        (lambda r: r["profiles"]["seed"].update(num_fewshot=5), r"profiles\.seed\.num_fewshot: .*0-shot.*ignored"),
        (lambda r: r["profiles"]["seed"]["cases"]["math500"].append("think_final"),
         r"profiles\.seed\.cases\.math500\.think_final: mode 'think_final' does not apply to math tasks"),
        (lambda r: r["profiles"]["seed"]["generation"]["default"].update(top_p=0.9),
         r"profiles\.seed\.generation: \['top_p'\] would be ignored by greedy decoding"),
        (lambda r: r["profiles"]["seed"].update(repeats={"aime24": 4}),
         r"4 samples of aime24 under greedy decoding would all be the same"),
        (lambda r: r["modes"]["think"].update(until=["Question:", "<|im_end|>"]),
         r"stop strings \['Question:'\] of thinking mode 'think' can cut thinking"),
        (lambda r: r["modes"]["answer_only"].update(until=["a", "b", "c", "d", "e"]), r"5 stop strings .* lm-eval sends only 4"),
        (lambda r: r["profiles"]["seed"]["generation"]["default"].pop("max_gen_toks"), r"no max_gen_toks .* silently use 256"),
        (lambda r: r["profiles"]["seed"]["precisions"].update(bf16="qwen3-32b"), r"profiles\.seed\.precisions\.bf16: unknown model 'qwen3-32b'"),
        (lambda r: r["profiles"]["tiny"]["precisions"].update(bf16="qwen3-32b-bf16"), r"is a GPU checkpoint, but the profile has gpu: False"),
        (lambda r: r["profiles"]["tiny"]["server"].update(max_model_length=10), r"unknown vLLM server argument\(s\) \['max_model_length'\]"),
        (lambda r: r["profiles"]["tiny"]["limits"].update(gsm8k=3), r"profiles\.tiny\.limits\.gsm8k: task 'gsm8k' has no cases"),
        (lambda r: r["tasks"]["aime24"].update(kind="gsm"), r"tasks\.aime24\.kind: 'gsm' is not a kind"),
        (lambda r: r["models"]["tiny-fp8"].update(tiny="fp6"), r"models\.tiny-fp8\.tiny: unknown scheme 'fp6'"),
        (lambda r: r["tasks"]["aime24"]["published"].update(thinking=81.4),
         r"tasks\.aime24\.published\.thinking: must be a share of accuracy in \[0, 1\]"),
        (lambda r: r["tasks"]["aime24"]["published"].update(reasoning=0.8), r"tasks\.aime24\.published: expected"),
        # Wrong scalar types that would slip past the checks of meaning.
        (lambda r: r["profiles"]["tiny"]["generation"]["thinking"].update(max_gen_toks=-48),
         r"profiles\.tiny\.generation\.thinking\.max_gen_toks: must be a positive integer, got -48"),
        (lambda r: r["profiles"]["tiny"]["generation"]["non_thinking"].update(temperature="0.7"),
         r"profiles\.tiny\.generation\.non_thinking\.temperature: must be a number >= 0, got '0\.7'"),
        (lambda r: r["profiles"]["tiny"]["limits"].update(aime24=True), r"profiles\.tiny\.limits\.aime24: must be a positive integer, got True"),
        (lambda r: r["profiles"]["tiny"].update(gpu="false"), r"profiles\.tiny\.gpu: must be true or false, got 'false'"),
        (lambda r: r["profiles"]["tiny"]["precisions"].update({"fp-8": "tiny-fp8"}),
         r"profiles\.tiny\.precisions\.fp-8: a precision's name holds no '-'"),
    ],
)
def test_bad_config_is_an_error_naming_the_key(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_with(tmp_path, edit)
    assert str(tmp_path / "matrix.yaml") in str(info.value)


def test_adding_a_mode_is_a_config_change(tmp_path):
    def add_mode(raw):
        raw["modes"]["brief"] = {"applies_to": ["math"], "enable_thinking": False, "system": "Be brief."}
        raw["profiles"]["tiny"]["cases"]["math500"].append("brief")

    cases = load_with(tmp_path, add_mode).cases("tiny")
    brief = [c for c in cases if c.mode.name == "brief"]
    assert [c.id for c in brief] == ["bf16-math500-brief", "fp8-math500-brief", "nvfp4-math500-brief"]
    assert brief[0].generation["until"] == ["Problem:", "</s>", "<|im_end|>", "<|eot_id|>"]


def test_a_duplicate_key_is_an_error_naming_its_path_and_lines(tmp_path):
    # YAML lets the last of two keys win: a second `tiny:` profile replaced the whole matrix.
    lines = MATRIX_FILE.read_text().splitlines()
    profiles, original = lines.index("profiles:"), lines.index("  tiny:")
    duplicate = ["  tiny:", "    gpu: false", "    precisions: {bf16: tiny-bf16}", "    cases: {aime24: [think]}"]
    path = tmp_path / "matrix.yaml"
    path.write_text("\n".join(lines[:profiles + 1] + duplicate + lines[profiles + 1:]) + "\n")
    with pytest.raises(ConfigError) as info:
        load_matrix(path)
    first, second = profiles + 2, original + len(duplicate) + 1
    assert str(info.value).startswith(f"{path}:{second}: profiles.tiny: duplicate key (first at line {first})"), info.value


def test_a_chat_template_that_ignores_enable_thinking_fails_the_preflight(tmp_path):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from evals.config.matrix import load_matrix
    from evals.lmeval.preflight import check_cases

    template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
                "{% if add_generation_prompt %}<|assistant|>{% endif %}")  # no enable_thinking anywhere
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                        unk_token="<unk>")
    tokenizer.chat_template = template
    cases = [c for c in load_matrix().cases("tiny") if c.precision == "bf16" and c.task.name == "aime24"]
    problems = check_cases(cases, tokenizer, max_model_len=100_000)
    flagged = {p.case for p in problems if "enable_thinking=False as with True" in p.message}
    assert flagged == {c.id for c in cases if not c.mode.enable_thinking} and len(problems) == len(flagged)

    tokenizer.chat_template = template.replace("<|assistant|>", "<|assistant|>{% if enable_thinking is false %}<think></think>{% endif %}")
    assert check_cases(cases, tokenizer, max_model_len=100_000) == []


def task_files_copy(tmp_path, monkeypatch):
    """A copy of evals/tasks the matrix config reads its task YAMLs from."""
    import shutil

    from evals.config import matrix
    from evals.config.paths import TASKS_DIR

    tasks = tmp_path / "tasks"
    shutil.copytree(TASKS_DIR, tasks, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(matrix, "TASKS_DIR", tasks)
    return tasks


def test_a_task_yamls_until_is_read_through_its_include(tmp_path, monkeypatch):
    from lm_eval.tasks._yaml_loader import load_yaml as lm_eval_load_yaml

    from evals.config.matrix import _task_yaml, _Where
    from evals.config.paths import TASKS_DIR

    shipped = load_matrix()
    # The shipped aime tasks keep their stops in the template they include.
    assert "until" not in (TASKS_DIR / "suite_aime24.yaml").read_text()
    assert shipped.tasks["aime24"].until == shipped.tasks["aime25"].until == ("Question:", "</s>", "<|im_end|>", "<|eot_id|>")
    for path in sorted(TASKS_DIR.glob("*.yaml")):  # as lm-eval reads them (its `!function`s aside)
        ours, theirs = _task_yaml(_Where(MATRIX_FILE), path), lm_eval_load_yaml(path, resolve_func=False)
        assert list(ours) == list(theirs), path
        assert {k: v for k, v in ours.items() if k not in ("custom_dataset", "process_results", "filter_list")} == {
            k: v for k, v in theirs.items() if k not in ("custom_dataset", "process_results", "filter_list")}, path

    tasks = task_files_copy(tmp_path, monkeypatch)
    template = tasks / "_suite_aime_template_yaml"
    template.write_text(template.read_text().replace('    - "Question:"\n', '    - "Q:"\n'))
    # The including file's own keys win (top-level keys, as lm-eval merges them).
    with open(tasks / "suite_aime25.yaml", "a") as f:
        f.write('generation_kwargs:\n  until: ["Z:", "<|im_end|>"]\n')
    matrix = load_matrix()
    assert matrix.tasks["aime24"].until == ("Q:", "</s>", "<|im_end|>", "<|eot_id|>")
    assert matrix.tasks["aime25"].until == ("Z:", "<|im_end|>")
    answer_only = {c.id: c for c in matrix.cases("tiny")}
    assert answer_only["bf16-aime24-answer_only"].generation["until"] == ["Q:", "</s>", "<|im_end|>", "<|eot_id|>"]
    assert matrix.digest != shipped.digest  # the template is part of the config


def test_a_missing_included_file_is_an_error_naming_it(tmp_path, monkeypatch):
    tasks = task_files_copy(tmp_path, monkeypatch)
    including = tasks / "suite_aime25.yaml"
    including.write_text(including.read_text().replace("include: _suite_aime_template_yaml", "include: _gone_template_yaml"))
    with pytest.raises(ConfigError) as info:
        load_matrix()
    assert str(info.value) == (f"{MATRIX_FILE}: tasks.aime25.lm_eval_task: {including}: include: "
                               f"no such file {tasks / '_gone_template_yaml'}")


def test_one_config_error_for_the_matrix_and_the_scorers_metrics():
    import scorers.registry

    assert ConfigError is scorers.registry.ConfigError


def test_the_manifest_records_the_published_figures_of_the_runs_profile(tmp_path, monkeypatch):
    from evals.artifacts import run_folder

    monkeypatch.setattr(run_folder, "hardware", lambda: {"gpus": []})
    matrix = load_matrix()
    figures = {"aime24": 0.814, "math500": 0.972, "aime25": 0.729}  # tasks.*.published.thinking
    assert matrix.published("full") == {
        f"{task}-{mode}": figures[task] for task, modes in matrix.profiles["full"]["cases"].items()
        for mode in modes if matrix.modes[mode].published_as == "thinking"}
    assert matrix.published("full")["aime24-think"] == 0.814 and "aime24-answer_only" not in matrix.published("full")
    assert matrix.published("seed") == {}  # not compare_published: not the published figures' settings
    for profile in ("full", "seed"):
        run = run_folder.RunArtifacts(tmp_path / profile, matrix, profile, matrix.cases(profile), "session")
        assert run_folder.read_manifest(run.dir)["published"] == matrix.published(profile)


def test_a_case_id_is_made_and_read_in_one_place():
    from evals.config.matrix import CaseId

    case = next(c for c in load_matrix().cases("tiny") if c.id == "fp8-aime24-think_final")
    parsed = CaseId.parse(case.id)
    assert parsed == CaseId("fp8", "aime24", "think_final") and str(parsed) == case.id
    assert parsed.task_mode == "aime24-think_final"
    with pytest.raises(ValueError, match="not a case id"):
        CaseId.parse("fp8-aime24")
