"""Reports and figures of results on disk: ``sim plot`` and ``sim report --html``.

The stage between the analyses and the command line: it opens run, sweep and sensitivity
directories and comparison tables, draws the figure that suits each (:mod:`sim.report.plot`),
writes a plain-language brief from the numbers (:mod:`sim.report.brief`) and assembles one
self-contained HTML page (:mod:`sim.report.page`). Needs ``sim[report]`` (matplotlib, Jinja2).
"""
