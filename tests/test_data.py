"""The vendored data sets: hashes verified on load, malformed input named precisely."""

import hashlib
import json
import shutil

import pytest

from evals import data


@pytest.mark.parametrize("name,records", [("aime24", 30), ("aime25", 30), ("math500", 500)])
def test_vendored_sets_load_with_their_schema(name, records):
    rows = data.load(name)
    assert len(rows) == records
    assert len({r["id"] for r in rows}) == records
    assert all(isinstance(r["answer"], str) and r["problem"] for r in rows)


def test_aime_answers_are_integers_in_range():
    for name in ("aime24", "aime25"):
        assert all(0 <= int(r["answer"]) <= 999 for r in data.load(name))


def test_aime24_keeps_the_broken_escapes_lm_eval_sends():
    by_id = {r["id"]: r for r in data.load("aime24")}
    assert "\x0crac{1}{2}" in by_id["2024-I-1"]["problem"]
    assert "$\tfrac{m}{n}$" in by_id["2024-II-8"]["problem"]


def test_every_hash_in_the_registry_matches_its_file():
    for name, entry in data.registry().items():
        assert hashlib.sha256((data.DATA_DIR / entry["file"]).read_bytes()).hexdigest() == entry["sha256"], name


@pytest.fixture
def copy_of_aime24(tmp_path):
    path = tmp_path / "aime24.jsonl"
    shutil.copy(data.DATA_DIR / "aime24.jsonl", path)
    return path


def test_a_changed_file_fails_its_hash(copy_of_aime24):
    copy_of_aime24.write_text(copy_of_aime24.read_text().replace('"answer": "204"', '"answer": "205"'))
    with pytest.raises(data.DataError, match=r"aime24.jsonl: sha256 is [0-9a-f]{64}, expected 5076"):
        data.load_jsonl(copy_of_aime24, data.registry()["aime24"]["sha256"])


@pytest.mark.parametrize(
    "line,message",
    [
        ("{broken", r":3: not valid JSON"),
        ('["a"]', r":3: expected a JSON object"),
        ('{"id": "x", "problem": "p"}', r":3: field 'answer' missing"),
        ('{"id": "x", "problem": "p", "answer": 5}', r":3: field 'answer' missing or not a non-empty string"),
    ],
)
def test_a_malformed_line_is_named_by_file_and_line(copy_of_aime24, line, message):
    lines = copy_of_aime24.read_text().splitlines()
    lines[2] = line
    copy_of_aime24.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match=r"aime24\.jsonl" + message):
        data.load_jsonl(copy_of_aime24)


def test_record_count_is_checked(copy_of_aime24):
    copy_of_aime24.write_text("\n".join(copy_of_aime24.read_text().splitlines()[:29]) + "\n")
    with pytest.raises(data.DataError, match="29 records, expected 30"):
        data.load_jsonl(copy_of_aime24, records=30)


def test_unknown_set_and_source_are_errors():
    with pytest.raises(data.DataError, match="unknown data set 'aime23'"):
        data.load("aime23")
    with pytest.raises(data.DataError, match="source must be"):
        data.load("aime24", source="s3")


def test_hub_rows_map_to_the_vendored_schema():
    # The rows of Maxwell-Jia/AIME_2024 as the hub serves them (Answer is an int).
    local = data.load("aime24")
    hub_rows = [{"ID": r["id"], "Problem": r["problem"], "Solution": r["solution"], "Answer": int(r["answer"])} for r in local]
    mapped = data.map_hub_rows("aime24", hub_rows)
    assert [{k: r[k] for k in data.FIELDS} for r in local] == mapped
    assert json.dumps(mapped[0]["answer"]) == '"204"'


def test_hub_rows_missing_a_column_are_named():
    with pytest.raises(data.DataError, match=r"math500 \(hub\): row 0 has no column 'problem'"):
        data.map_hub_rows("math500", [{"unique_id": "x", "answer": "1"}])
