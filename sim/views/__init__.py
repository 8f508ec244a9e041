"""Views of results: figures (matplotlib) and HTML fragments, drawn from plain data.

Nothing here knows run directories or scenario files: callers hand over numbers, arrays
and labels, and get back matplotlib figures, SVG or PNG bytes, or escaped HTML. The stages
above (run results, analyses, the report) decide what to show; this package decides how it
looks, in one style (:mod:`sim.views.style`). matplotlib and Jinja2 are an optional extra
(``pip install 'sim[report]'``); the modules that need them import them at the top, and
nobody imports those modules until a figure or a page is asked for.
"""
