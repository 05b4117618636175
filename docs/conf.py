import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs.config_table import write

write()

project = "flask-condpoll"
copyright = "2026, the flask-condpoll authors"
release = "0.2.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = "flask-condpoll"
exclude_patterns = ["_build", "_generated"]


def skip_tuple_fields(app, what, name, obj, skip, options):
    """Named tuples document their fields in the class docstring: leave out
    the generated "Alias for field number N" entries."""
    doc = getattr(obj, "__doc__", None) or ""
    return True if doc.startswith("Alias for field number") else None


def setup(app):
    app.connect("autodoc-skip-member", skip_tuple_fields)
