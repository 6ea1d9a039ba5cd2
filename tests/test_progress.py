"""Progress lines: informative, and few enough for a CI log."""

from evals.run.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_one_line_per_interval_with_rate_and_eta():
    clock, lines = Clock(), []
    progress = Progress("bf16-aime24-think", lines.append, interval=30, clock=clock)
    progress.start(1000)
    for _ in range(1000):
        clock.now += 0.5  # 2 requests/s, 100 tokens each
        progress.update(100)
    progress.finish()
    # 500 s of work: a start line, one line per 30 s, a final line; not one per request.
    assert lines[0] == "bf16-aime24-think: 1000 requests"
    assert len(lines) == 1 + 500 // 30 + 1
    assert lines[1] == "bf16-aime24-think: 60/1000 requests, 200 tok/s, ETA 7m50s"
    assert lines[-1] == "bf16-aime24-think: 1000/1000 requests, 200 tok/s, done in 8m20s"


def test_reused_responses_count_as_done_but_not_toward_the_rate():
    clock, lines = Clock(), []
    progress = Progress("fp8-math500-think", lines.append, interval=10, clock=clock)
    progress.start(40)
    for _ in range(30):
        progress.update(500, reused=True)
    for _ in range(10):
        clock.now += 1.0
        progress.update(50)
    progress.finish()
    assert lines[-1] == "fp8-math500-think: 40/40 requests, 30 reused, 50 tok/s, done in 0m10s"
