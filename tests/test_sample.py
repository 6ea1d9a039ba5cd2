"""A response's sample (evals/artifacts/types.py Sample): a samples.jsonl line as before
(the same keys, in the same order), read back with errors naming the file, line and field."""

import json
import re

import pytest

from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.types import Sample
from evals.drift.sequences import reference_sequences

LINE = {
    "case": "bf16-aime24-think", "item": "2024-I-1", "doc_id": 0, "repeat": 1, "gold": "204",
    "messages": [{"role": "user", "content": "Question: ...\nAnswer:"}],
    "chat_template_kwargs": {"enable_thinking": True}, "response": "<think>x</think>\\boxed{204}",
    "finish_reason": "stop", "prompt_tokens": 11, "completion_tokens": 9, "correct": True,
    "verdicts": {"exact_match": True, "math_equiv": True}, "extracted": {"exact_match": "204", "math_equiv": "204"},
    "token_ids": None, "notes": {"math_equiv": "timeout"},
}


def test_a_sample_is_the_line_it_was_byte_for_byte():
    sample = Sample(**LINE)
    assert list(sample.as_data()) == list(LINE)
    assert json.dumps(sample.as_data(), ensure_ascii=False) == json.dumps(LINE, ensure_ascii=False)
    assert Sample.from_data(json.loads(json.dumps(LINE)), "s.jsonl:1") == sample


def test_a_line_written_before_chat_template_kwargs_token_ids_or_notes_were_kept_reads():
    old = {k: v for k, v in LINE.items() if k not in ("chat_template_kwargs", "token_ids", "notes")}
    sample = Sample.from_data(old, "s.jsonl:1")
    assert sample.chat_template_kwargs is None and sample.token_ids is None and sample.notes is None
    assert Sample.from_data({**LINE, "token_ids": [1, 2]}, "s.jsonl:1").token_ids == [1, 2]
    with pytest.raises(DamagedFile, match="'token_ids'"):
        Sample.from_data({**LINE, "token_ids": "1 2"}, "s.jsonl:1")


@pytest.mark.parametrize("line, field", [
    ({k: v for k, v in LINE.items() if k != "repeat"}, "'repeat'"),
    ({**LINE, "repeat": "0"}, "'repeat'"),
    ({**LINE, "doc_id": True}, "'doc_id'"),
    ({**LINE, "correct": 1}, "'correct'"),
    ({**LINE, "verdicts": None}, "'verdicts'"),
    ({**LINE, "prompt_tokens": 1.5}, "'prompt_tokens'"),
    ([LINE], "JSON object"),
])
def test_a_damaged_line_names_its_file_line_and_field(line, field):
    with pytest.raises(DamagedFile, match=r"^run/c/samples\.jsonl:3: missing or malformed field") as damaged:
        Sample.from_data(line, "run/c/samples.jsonl:3")
    assert field in str(damaged.value)


class Tokenizer:
    def convert_tokens_to_ids(self, token):
        return 0

    def apply_chat_template(self, messages, add_generation_prompt, tokenize, **kwargs):
        return list(range(11))

    def encode(self, text, add_special_tokens):
        return [ord(c) for c in text]

    def decode(self, ids, skip_special_tokens=False):
        return "".join(map(chr, ids))


def test_the_drift_reference_reads_samples_and_names_a_damaged_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    lines = [{**LINE, "repeat": 0}, LINE, {k: v for k, v in LINE.items() if k != "messages"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    [sequence] = reference_sequences([path], Tokenizer(), items=1, max_tokens=4)
    assert (sequence.case, sequence.item, sequence.start, len(sequence.tokens)) == (LINE["case"], LINE["item"], 11, 15)
    with pytest.raises(DamagedFile, match=rf"^{re.escape(str(path))}:3: .*'messages'"):
        reference_sequences([path], Tokenizer(), items=2, max_tokens=4)
