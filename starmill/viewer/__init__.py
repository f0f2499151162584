"""``starmill view``: a local, read-only web app over the warehouse.

``catalog`` (datasets, versions, health, the confined DuckDB session), ``queries`` (the SQL of each
page, parameters bound), ``render`` and ``charts`` (escaped HTML and inline SVG), ``pages`` (one
function per page, Jinja templates with autoescape), ``server`` (http.server, GET and HEAD only).
"""
