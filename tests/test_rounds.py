"""A generation pass in looks (evals/run/generation_pass.py `Rounds`), against a scripted
server and a judge that stops one case after the first look: round by round, each round
judged once it is all answered; the next round's requests flow while one finishes (the
engine stays full), at most `spare` of them ahead; a stopped case draws nothing after the
look that stopped it; what was drawn and generated is counted apart; a resumed pass
takes the same rounds from what it kept and sends nothing."""

import dataclasses

from evals.artifacts.generations import GenerationStore
from evals.engine.client import PoolSize
from evals.gate.sequential import Looks
from evals.run.generation_pass import generation_pass
from tests.test_generation_pass import Endpoint, Scripted, fp8_cases

SLOW = 0.3  # seconds a first-round request takes; the others answer at once


class StubJudge:
    """Three looks; every case draws on except `stop`, which stops after look 1."""

    looks = Looks(3, 0.99)

    def __init__(self, stop: str, server):
        self.stop, self.server = stop, server
        self.drawn: dict[str, dict[str, int]] = {}
        self.judged: list[tuple[int, int]] = []  # (look, requests the server had received then)

    def watches(self, cases):
        return True

    def start(self, case, requests):
        self.drawn[case.id] = {r.item: 0 for r in requests}

    def score(self, case, look, requests, store):
        for request in requests:
            assert request.key in store  # a look judges only answered samples
            self.drawn[case.id][request.item] += 1

    def after(self, precision, look):
        self.judged.append((look, len(self.server.received)))
        return set() if look >= 3 else {c for c in self.drawn if c != self.stop or look < 1}


def test_rounds_flow_into_each_other_and_a_stopped_case_draws_no_more(tmp_path):
    cases = [dataclasses.replace(c, limit=3, repeats=6) for c in fp8_cases() if c.mode.name in ("int_only", "answer_only")
             and c.task.name == "aime24"]
    stop, going = cases[0].id, cases[1].id
    store = GenerationStore(tmp_path / "fp8.jsonl", {"model": "fake"})
    first_round = sum(c.limit * 2 for c in cases)  # ceil(6/3) = 2 samples per item in round 1
    with Scripted(delay=lambda p: SLOW if int(p["request_id"].rsplit("-", 1)[1]) < 2 else 0.0) as server:
        judge = StubJudge(stop, server)
        made = generation_pass(cases, Endpoint(server.url), store, {c.id: 10.0 for c in cases}, PoolSize(64),
                               judge=judge)
        assert [look for look, _ in judge.judged] == [1, 2, 3]
        # the next round's requests went out while the first finished: more than its own by the first look
        assert judge.judged[0][1] > first_round
        repeats = {case.id: sorted(int(p["request_id"].rsplit("-", 1)[1]) for p in server.received
                                   if p["messages"][0]["content"] == case.mode.system) for case in cases}
        assert len(repeats[going]) == 3 * 6 and 3 * 2 < len(repeats[stop]) < 3 * 6
        assert judge.drawn[stop] == {item: 2 for item in judge.drawn[stop]}  # stopped after round 1
        assert judge.drawn[going] == {item: 6 for item in judge.drawn[going]}
        assert max(repeats[stop], default=0) < 4  # nothing of round 3 for the stopped case
        assert made.drawn == judge.drawn and made.requests == len(server.received) == len(store)
        assert made.requests > sum(sum(d.values()) for d in made.drawn.values())  # what ran ahead of look 1, counted

        sent = len(server.received)  # resumed: the same rounds, from what was kept
        again = generation_pass(cases, Endpoint(server.url), GenerationStore(store.path, store.context),
                                {c.id: 10.0 for c in cases}, PoolSize(64), judge=StubJudge(stop, server))
        assert len(server.received) == sent and again.sent == 0 and again.drawn == made.drawn

