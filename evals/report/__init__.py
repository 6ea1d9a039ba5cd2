"""The report of a run, from its folder alone: built (build.py), as Markdown (markdown.py)
and as charts (chart.py)."""
