"""scorers/metrics.toml is validated on load; errors name the file and key."""

import pytest

from scorers.registry import ConfigError, load_task_metrics, task_kind_for


def write(tmp_path, text):
    path = tmp_path / "metrics.toml"
    path.write_text(text)
    return path


def test_shipped_config_loads():
    tasks = load_task_metrics()
    assert tasks["aime"].primary == "integer_match[prefer_final]"
    assert tasks["math"].primary == "math_equiv"
    assert task_kind_for("aime24_2025-12-24T00-00-00") == "aime"
    assert task_kind_for("hendrycks_math500") == "math"
    assert task_kind_for("gsm8k") is None


@pytest.mark.parametrize(
    "text,message",
    [
        ('[aime]\nmetrics = ["exact_match"]\nprimary = "exact_match"\nweight = 2\n', r"\[aime\]: unknown key\(s\) \['weight'\]"),
        ('[aime]\nmetrics = ["integer_match[last]"]\nprimary = "integer_match[last]"\n', r"\[aime\]: unknown metric 'integer_match\[last\]'"),
        ('[aime]\nmetrics = ["exact_match"]\nprimary = "math_equiv"\n', r"\[aime\]: primary 'math_equiv' is not in its metrics"),
        ('[aime]\nmetrics = ["exact_match"]\n', r"\[aime\]: missing key 'primary'"),
        ('[aime]\nmetrics = ["exact_match"]\nprimary = "exact_match"\ninteger_range = [9, 1]\n', r"integer_range must be \[low, high\]"),
        ("[aime\n", r"metrics\.toml: "),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_task_metrics(write(tmp_path, text))


def test_primary_by_mode(tmp_path):
    path = write(
        tmp_path,
        '[aime]\nmetrics = ["integer_match[raw]", "integer_match[prefer_final]"]\nprimary = "integer_match[prefer_final]"\n'
        '[aime.primary_by_mode]\nanswer_only = "integer_match[raw]"\n',
    )
    aime = load_task_metrics(path)["aime"]
    assert aime.primary_for("answer_only") == "integer_match[raw]"
    assert aime.primary_for("think") == aime.primary_for(None) == "integer_match[prefer_final]"
