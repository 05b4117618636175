project = "flask-condpoll"
copyright = "2026, the flask-condpoll authors"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = "flask-condpoll"
exclude_patterns = ["_build"]
