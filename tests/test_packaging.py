"""The wheel users install: built without warnings, with every template and
client file, and working when imported from where it was installed.
(``make test-wheel`` runs the whole suite against an installed wheel.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ("*.html", "*.js", "*.css", "py.typed")

#: Run from an empty folder, with only the unpacked wheel on the path.
SMOKE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import flask_condpoll
    from flask import Flask, render_template_string
    from flask_condpoll import CondPoll, conditional

    assert Path(flask_condpoll.__file__).is_relative_to(sys.argv[1]), flask_condpoll

    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)

    @app.get("/item")
    @conditional(etag=lambda: 1)
    def item():
        return "item"

    page = '''{% import "condpoll/macros.html" as condpoll %}
    {{ condpoll.scripts(client, library_url="/lib.js", extension_url="/ptag.js") }}
    {% call condpoll.poll("item", "item", client=client) %}x{% endcall %}'''
    client = app.test_client()
    with app.test_request_context():
        for name in ("htmx2", "htmx4", "unpoly"):
            html = render_template_string(page, client=name)
            for url in html.split('src="')[1:]:
                url = url.split('"', 1)[0]
                if url.startswith("/_condpoll/"):
                    answer = client.get(url)
                    assert answer.status_code == 200, url
                    assert answer.data, url
            assert 'id="item"' in html, html
    print("ok")
    """
)


def checkout_copy(target: Path) -> Path:
    """The project's files as a fresh clone has them (no build leftovers)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    source = checkout_copy(tmp_path_factory.mktemp("source"))
    folder = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", folder, source],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (path,) = folder.glob("flask_condpoll-*.whl")
    return path, build.stdout + build.stderr


def test_the_build_warns_about_nothing_of_ours(wheel):
    _, log = wheel
    warned = [
        line
        for line in log.splitlines()
        if "Warning" in line and ("flask_condpoll" in line or "setuptools" in line)
    ]
    assert warned == []


def test_the_wheel_holds_every_template_and_client_file(wheel):
    path, _ = wheel
    source = ROOT / "flask_condpoll"
    expected = {
        file.relative_to(ROOT).as_posix()
        for pattern in DATA
        for file in source.rglob(pattern)
    }
    assert any(name.endswith(".js") for name in expected)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert expected <= names
    assert not any(
        name.startswith(("tests/", "example_app/", "docs/")) for name in names
    )


def test_the_installed_wheel_serves_its_files(wheel, tmp_path):
    path, _ = wheel
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", target, path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    code = f"import sys\nsys.path.insert(0, {str(target)!r})\n{SMOKE}"
    smoke = subprocess.run(
        [sys.executable, "-I", "-c", code, str(target)],
        capture_output=True,
        text=True,
        cwd=empty,
        timeout=120,
    )
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert smoke.stdout.strip() == "ok"
