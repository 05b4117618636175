"""Every example in docs/ and the README is run here, exactly as printed.

An example is either a file under ``docs/examples/`` that the docs include
(``literalinclude``) and a test below imports, or a block written in a page
or a docstring that a test below reads from there and runs, registered with
:func:`runs`. ``test_every_example_in_the_docs_is_run`` fails for any other.
"""

import functools
import importlib
import inspect
import json
import pathlib
import re
import runpy
import shlex
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from dataclasses import dataclass
from urllib.error import HTTPError

import pytest
from flask import Flask
from flask import render_template
from flask import render_template_string
from flask import session
from werkzeug.serving import make_server

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators
from flask_condpoll import validators_for
from flask_condpoll.frontend import prepare_poll

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"


# -- Finding the examples ---------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One literal block as the docs show it.

    :param where: the page (``"concepts.rst"``, ``"README.md"``) or the
        documented object (``"flask_condpoll.conditional"``).
    :param language: the ``code-block`` language; ``""`` for a ``::`` block.
    :param text: the block, dedented.
    """

    where: str
    language: str
    text: str

    def begins(self, where, start):
        return self.where == where and self.text.lstrip().startswith(start)

    @property
    def is_python(self) -> bool:
        if self.language in ("python", "py", "python3"):
            return True
        if self.language:
            return False
        for code in (self.text, "def f():\n" + textwrap.indent(self.text, "    ")):
            try:  # the second, for a fragment of a function (a ``return``)
                compile(code, self.where, "exec")
            except SyntaxError:
                continue
            return True
        return False


def rst_blocks(text, where):
    """The ``code-block`` directives and ``::`` literal blocks of reST text."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        indent = len(lines[i]) - len(lines[i].lstrip())
        directive = re.fullmatch(
            r"\.\. (?:code-block|code|sourcecode)::\s*(\S*)", stripped
        )
        if not directive and not (
            stripped.endswith("::") and not stripped.startswith("..")
        ):
            i += 1
            continue
        body = []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        while directive and body and body[0].strip().startswith(":"):
            body.pop(0)  # the directive's options
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if code:
            found.append(Block(where, directive[1] if directive else "", code))
    return found


def markdown_blocks(text, where):
    return [
        Block(where, match[1], match[2].strip("\n"))
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    ]


def pages():
    return sorted(
        page for page in DOCS.rglob("*.rst") if not {"_build"} & set(page.parts)
    )


def autodoc_names():
    """The dotted names of everything the pages render with autodoc."""
    names = []
    for page in pages():
        lines = page.read_text().splitlines()
        module = None
        for n, line in enumerate(lines):
            if match := re.match(r"\.\. (?:current)?module::\s*(\S+)", line):
                module = match[1]
                continue
            match = re.match(r"\.\. auto(\w+)::\s*(\S+)", line)
            if not match:
                continue
            kind, name = match[1], match[2]
            if kind != "module" and "." not in name:
                name = f"{module}.{name}"
            if kind != "data":  # data is documented by its #: comment
                names.append((kind, name))
            options = []
            for option in lines[n + 1 :]:
                if not option.startswith("   "):
                    break
                options.append(option.strip())
            members = re.search(r":members:(.*?)(?=\s:\w+:|$)", " ".join(options))
            for member in (members[1] if members else "").split(","):
                if member.strip():
                    names.append(("member", f"{name}.{member.strip()}"))
    return names


def resolve(kind, name):
    """The object autodoc documents as ``name`` (a module only for automodule)."""
    parts = name.split(".")
    for end in range(len(parts) if kind == "module" else len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:]:
            found = getattr(found, part)
        return found
    raise ImportError(name)


def docstring_blocks():
    found = []
    for kind, name in autodoc_names():
        documented = resolve(kind, name)
        if not (
            inspect.ismodule(documented)
            or inspect.isclass(documented)
            or inspect.isroutine(documented)
            or isinstance(documented, property)
        ):
            continue  # data: its docstring is its type's
        found.extend(rst_blocks(inspect.getdoc(documented) or "", name))
    return found


@functools.cache
def all_blocks():
    """Every literal block of the pages, the README and the docstrings."""
    found = []
    for page in pages():
        found.extend(rst_blocks(page.read_text(), str(page.relative_to(DOCS))))
    found.extend(markdown_blocks((ROOT / "README.md").read_text(), "README.md"))
    return tuple(found + docstring_blocks())


#: (where, how the block starts) of every block a test below runs, with the test.
RUN_BY = {}


def runs(where, *starts):
    """Mark a test as the one that runs the blocks of ``where`` that begin
    with ``starts``; it reads each with :func:`shown`."""

    def mark(test):
        for start in starts:
            RUN_BY[(where, start)] = test.__name__
        return test

    return mark


def shown(where, start):
    """The text of the one block of ``where`` that begins with ``start``."""
    found = [block.text for block in all_blocks() if block.begins(where, start)]
    assert len(found) == 1, f"{len(found)} blocks of {where} begin with {start!r}"
    return found[0]


#: Blocks that no test can run, and why. Never Python.
NOT_RUN = {
    ("benchmarks.rst", "scenario    req/s"): "measured results of one run",
    ("benchmarks.rst", "# flask-condpoll instruction counts"): "measured results",
    ("benchmarks.rst", "# flask-condpoll update latency"): "measured results",
    ("benchmarks.rst", "instructions per request ="): "a formula, not a command",
    ("waiting.rst", "held polls: 1000"): "measured results (gevent, Redis, minutes)",
}


def excerpt_of_an_example(block):
    """Whether ``block`` is a run of whole lines of a file in docs/examples
    (at any indentation), and so runs with that file's test."""
    wanted = block.text.splitlines()
    for path in EXAMPLES.glob("*.py"):
        lines = path.read_text().splitlines()
        for start in range(len(lines) - len(wanted) + 1):
            first = lines[start]
            indent = first[: len(first) - len(first.lstrip())]
            if all(
                (line == indent + want) if want else not line.strip()
                for line, want in zip(lines[start:], wanted, strict=False)
            ):
                return True
    return False


def test_every_example_in_the_docs_is_run():
    """Each literal block of the pages, the README and the docstrings autodoc
    renders is run by a test here, or is an excerpt of a file under
    docs/examples (which the pages include and the tests import); only
    blocks that are not Python may be left unrun, each with its reason."""
    blocks = all_blocks()
    assert len(blocks) > 30
    unrun = []
    for block in blocks:
        keys = [key for key in [*RUN_BY, *NOT_RUN] if block.begins(*key)]
        assert len(keys) <= 1, f"{keys} each name the same block"
        if keys and (keys[0] in RUN_BY or not block.is_python):
            continue
        if not excerpt_of_an_example(block):
            unrun.append(f"{block.where}: {block.text.splitlines()[0]!r}")
    assert not unrun, (
        "Examples that no test runs: include them from a file under"
        " docs/examples/ and test that file, or run the block here with"
        " @runs(...):\n" + "\n".join(unrun)
    )
    stale = {
        key
        for key in [*RUN_BY, *NOT_RUN]
        if not any(block.begins(*key) for block in blocks)
    }
    assert not stale, f"No such block any more: {sorted(stale)}"


def test_every_included_example_is_tested():
    """Every file the pages include from docs/examples exists, and every
    Python file there is imported by this module."""
    source = pathlib.Path(__file__).read_text()
    for page in pages():
        for path in re.findall(r"\.\. literalinclude:: (\S+)", page.read_text()):
            assert (page.parent / path).is_file(), f"{page.name}: {path}"
    for path in EXAMPLES.glob("*.py"):
        if path.stem == "__init__":
            continue
        module = path.stem
        assert re.search(
            rf"from docs\.examples(\.{module} import | import {module}\b)", source
        ), f"no test imports docs/examples/{path.name}"


# -- README -----------------------------------------------------------------


def readme_example(tmp_path):
    """The README's Python block, run as the module a user would save it as."""
    path = tmp_path / "readme_app.py"
    path.write_text(shown("README.md", "from datetime import datetime"))
    return runpy.run_path(str(path), run_name="readme_app")


@runs("README.md", "from datetime import datetime")
def test_readme_example_answers_304(tmp_path):
    pytest.importorskip("flask_sqlalchemy")
    module = readme_example(tmp_path)
    app, db, item = module["app"], module["db"], module["Item"]
    client = app.test_client()
    with app.app_context():
        db.session.add(item(list_id=1, text="milk"))
        db.session.commit()
    first = client.get("/lists/1/items")
    assert first.status_code == 200
    assert first.json == ["milk"]
    tag = first.headers["ETag"]
    assert (
        client.get("/lists/1/items", headers={"If-None-Match": tag}).status_code == 304
    )
    with app.app_context():
        db.session.add(item(list_id=1, text="eggs"))
        db.session.commit()
    again = client.get("/lists/1/items", headers={"If-None-Match": tag})
    assert again.status_code == 200
    assert again.json == ["milk", "eggs"]


@runs("flask_condpoll.current_validators", '@app.get("/lists/<int:list_id>/summary")')
def test_current_validators_docstring(tmp_path):
    """With the README's app: the view reads the generator's value, no
    second query."""
    pytest.importorskip("flask_sqlalchemy")
    module = readme_example(tmp_path)
    namespace = {**module, "current_validators": current_validators}
    exec(shown("flask_condpoll.current_validators", "@app.get"), namespace)
    app, db, item = module["app"], module["db"], module["Item"]
    with app.app_context():
        db.session.add_all([item(list_id=1, text="milk"), item(list_id=1, text="tea")])
        db.session.commit()
    client = app.test_client()
    summary = client.get("/lists/1/summary")
    assert summary.json["items"] == 2
    assert summary.json["changed"]  # the newest updated_at
    tag = summary.headers["ETag"]
    assert (
        client.get("/lists/1/summary", headers={"If-None-Match": tag}).status_code
        == 304
    )


def make_dry_run(command):
    """What ``make`` would run for ``command`` (``make -n``): nothing is run."""
    assert command.startswith("make"), command
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *shlex.split(command)[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def flask_lines(command):
    """The ``.venv/bin/flask`` commands that ``command`` runs: itself, or for
    ``make``, what ``make -n`` says it would run."""
    if not command.startswith("make"):
        return [command]
    return [line for line in make_dry_run(command) if " --app example_app " in line]


def parse_flask_command(line, app):
    """Parse ``line`` with the real options of its flask command (it does not run)."""
    import click
    from flask.cli import cli

    words = shlex.split(line)
    assert words[:3] == [".venv/bin/flask", "--app", "example_app"], line
    name, *args = words[3:]
    with click.Context(cli) as context:
        command = app.cli.get_command(context, name) or cli.get_command(context, name)
        while isinstance(command, click.Group):  # flask condpoll explain ...
            name, *args = args
            command = command.get_command(context, name)
    assert command is not None, line
    command.make_context(name, args)


@runs("README.md", "make demo", "make activity")
@runs("demo.rst", "make activity")
def test_make_and_flask_commands(tmp_path):
    """Every ``make`` command of the README and the demo page names a real
    target, and every flask command it runs (or that is shown) takes the
    options it is given. ``make`` itself is not run: it installs."""
    pytest.importorskip("flask_sqlalchemy")
    from example_app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db"})
    commands = [
        line.split("#", 1)[0].strip()
        for text in (
            shown("README.md", "make demo"),
            shown("README.md", "make activity"),
            shown("demo.rst", "make activity"),
        )
        for line in text.splitlines()
    ]
    for text in ((ROOT / "README.md").read_text(), (DOCS / "demo.rst").read_text()):
        commands += re.findall(r"``?(make [^`]+|\.venv/bin/flask [^`]+)``?", text)
    assert "make demo PORT=5001" in commands
    parsed = []
    for command in commands:
        for line in flask_lines(command):
            parse_flask_command(line, app)
            parsed.append(line)
    assert ".venv/bin/flask --app example_app run --host 127.0.0.1 --port 5001" in (
        parsed
    )
    assert ".venv/bin/flask --app example_app activity --rate 5 --what status" in (
        parsed
    )
    # The README's "HOST=0.0.0.0 to listen on every interface", and where
    # "make docs" puts the pages it says to open.
    assert flask_lines("make demo HOST=0.0.0.0")[-1].endswith(
        " run --host 0.0.0.0 --port 5000"
    )
    assert "docs/_build/html/index.html" in (ROOT / "README.md").read_text()
    assert make_dry_run("make docs")[-1].endswith(" docs docs/_build/html")


def test_the_readme_explain_command(example_cli):
    """``flask --app example_app condpoll explain /status -H "HX-Request: true"``
    as the README and the demo page print it."""
    command = re.search(
        r"`\.venv/bin/flask (--app example_app condpoll explain [^`]+)`",
        (ROOT / "README.md").read_text(),
    )[1]
    result = example_cli(command)
    assert result.exit_code == 0, result.output
    assert "GET /status  ->  200 OK" in result.output
    assert "vary           HX-Request, X-Up-Target (this request: HX-Request)" in (
        result.output
    )


# -- Quickstart -------------------------------------------------------------


def test_quickstart_check():
    from docs.examples.quickstart import LISTS
    from docs.examples.quickstart import VERSIONS
    from docs.examples.test_quickstart import test_the_list_is_conditional

    saved = dict(LISTS), dict(VERSIONS)
    try:
        test_the_list_is_conditional()
    finally:
        LISTS.update(saved[0])
        VERSIONS.update(saved[1])


@runs("quickstart.rst", "GET /lists/1")
def test_quickstart_wire_as_shown():
    """Each line of "what happens on the wire", sent in order: the status
    shown, and the tags it names (``"x0fH..."``: the one a line received)."""
    from docs.examples.quickstart import app
    from docs.examples.quickstart import LISTS
    from docs.examples.quickstart import VERSIONS

    saved = dict(LISTS), dict(VERSIONS)
    client = app.test_client()
    tags = {}
    line_format = re.compile(
        r'(?P<method>[A-Z]+) (?P<path>\S+)(?:  (?P<header>[\w-]+): (?P<tag>"\S+"))?'
        r" +-> (?P<status>\d{3})(?P<rest>.*)"
    )
    try:
        for n, line in enumerate(shown("quickstart.rst", "GET /lists/1").splitlines()):
            shown_line = line_format.fullmatch(line)
            assert shown_line, line
            headers = {}
            if shown_line["header"]:
                headers[shown_line["header"]] = tags[shown_line["tag"]]
            answer = client.open(
                shown_line["path"],
                method=shown_line["method"],
                headers=headers,
                json={"items": [f"item {n}"]}
                if shown_line["method"] == "PUT"
                else None,
            )
            assert answer.status_code == int(shown_line["status"]), line
            if named := re.search(r'ETag: ("[^"]+")', shown_line["rest"]):
                assert answer.headers["ETag"].startswith('"'), "a strong tag"
                assert answer.headers["ETag"] not in tags.values(), "a new tag"
                tags[named[1]] = answer.headers["ETag"]
            if "no body" in line:
                assert answer.data == b""
            if "nothing changed" in line:
                assert LISTS[1] == {"items": ["item 3"]}
        assert len(tags) == 2
    finally:
        LISTS.update(saved[0])
        VERSIONS.update(saved[1])


@runs("quickstart.rst", "pip install /path/to/flask-condpoll")
def test_quickstart_install_commands():
    """The extras the install commands name exist, and the wheel they build
    matches the glob. (Installing is left to tests/test_packaging.py.)"""
    import configparser

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extras = set(setup["options.extras_require"])
    commands = shown("quickstart.rst", "pip install /path/to/flask-condpoll")
    for extra in re.findall(r"\[(\w+)\]", commands):
        assert extra in extras
    name = setup["metadata"]["name"].replace("-", "_")
    assert f"dist/{name}-*.whl" in commands


def send(url, method="GET", body=None, **headers):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("ETag"), response.read()
    except HTTPError as error:
        return error.code, error.headers.get("ETag"), error.read()


def test_quickstart_read_then_write_over_a_socket():
    """GET, then PUT with its ETag: 2xx with the new ETag; the old tag: 412;
    the new one chains the next write without a GET in between."""
    from docs.examples.quickstart import app
    from docs.examples.quickstart import LISTS
    from docs.examples.quickstart import VERSIONS

    saved = dict(LISTS), dict(VERSIONS)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}/lists/1"
    try:
        status, tag, body = send(url)
        assert status == 200
        assert not tag.startswith("W/")
        assert send(url, "PUT", {"items": ["tea"]})[0] == 428
        status, new_tag, body = send(
            url, "PUT", {"items": ["tea"]}, **{"If-Match": tag}
        )
        assert status == 200
        assert json.loads(body) == {"items": ["tea"]}
        assert new_tag and new_tag != tag
        assert send(url, "PUT", {"items": ["x"]}, **{"If-Match": tag})[0] == 412
        assert json.loads(send(url)[2]) == {"items": ["tea"]}  # nothing changed
        status, _, _ = send(url, "PUT", {"items": ["jam"]}, **{"If-Match": new_tag})
        assert status == 200
        assert send(url, **{"If-None-Match": new_tag})[0] == 200
    finally:
        server.shutdown()
        thread.join()
        LISTS.update(saved[0])
        VERSIONS.update(saved[1])


# -- Concepts ---------------------------------------------------------------


def test_search_example_query_parameters():
    """``query=["q", "page"]``: another ``q`` or page is another tag, a
    tracking parameter is not; ``query=False``: no parameter is."""
    from docs.examples.search import app
    from docs.examples.search import VERSION

    client = app.test_client()

    def tag(url):
        return client.get(url).headers["ETag"]

    dune = tag("/search?q=du")
    assert tag("/search?q=em") != dune
    assert tag("/search?q=du&page=2") != dune
    assert tag("/search?q=du&utm_source=mail") == dune
    assert client.get("/search?q=e&page=2").json == ["Middlemarch", "Ulysses"]
    answer = client.get("/search?q=du&_=1700000000", headers={"If-None-Match": dune})
    assert answer.status_code == 304
    books = tag("/books")
    assert tag("/books?_=1700000000&sort=title") == books
    saved = dict(VERSION)
    try:
        VERSION["books"] += 1
        assert tag("/books") != books
        assert tag("/search?q=du") != dune
    finally:
        VERSION.update(saved)


def test_documents_example_writes_answer_with_the_new_tag(tmp_path):
    """A PUT answers with its new ETag, which the next PUT's If-Match passes
    without a GET in between; the old tag fails; the GET shares the tag."""
    pytest.importorskip("flask_sqlalchemy")
    from docs.examples.documents import create_app
    from docs.examples.documents import db
    from docs.examples.documents import Doc

    app = create_app(f"sqlite:///{tmp_path}/docs.db")
    with app.app_context():
        db.session.add(Doc(id=1, body="draft"))
        db.session.commit()
    client = app.test_client()
    read = client.get("/docs/1")
    tag = read.headers["ETag"]
    assert (read.json, tag.startswith('"')) == ({"body": "draft"}, True)
    assert client.put("/docs/1", json={"body": "x"}).status_code == 428
    written = client.put("/docs/1", json={"body": "two"}, headers={"If-Match": tag})
    assert (written.status_code, written.json) == (200, {"body": "two"})
    new_tag = written.headers["ETag"]
    assert new_tag != tag
    stale = client.put("/docs/1", json={"body": "x"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    chained = client.put(
        "/docs/1", json={"body": "three"}, headers={"If-Match": new_tag}
    )
    assert chained.status_code == 200
    latest = chained.headers["ETag"]
    assert client.get("/docs/1", headers={"If-None-Match": latest}).status_code == 304
    assert client.get("/docs/1").json == {"body": "three"}
    assert (
        client.put("/docs/2", json={"body": "x"}, headers={"If-Match": "*"}).status_code
        == 412
    )


def test_login_example_puts_the_user_in_every_tag():
    """With Flask-Login's ``current_user``: one user's tag is no 304 for
    another or for an anonymous visitor, and Flask sends ``Vary: Cookie``."""
    pytest.importorskip("flask_login")
    from docs.examples.login import app

    alice, bob, anonymous = app.test_client(), app.test_client(), app.test_client()
    alice.post("/login/alice")
    bob.post("/login/bob")
    first = alice.get("/news")
    tag = first.headers["ETag"]
    assert "Cookie" in first.headers["Vary"]
    again = alice.get("/news", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert "Cookie" in again.headers["Vary"]
    other = bob.get("/news", headers={"If-None-Match": tag})
    assert (other.status_code, other.text) == (200, "Hello bob, here is the news.")
    stranger = anonymous.get("/news", headers={"If-None-Match": tag})
    assert stranger.status_code == 200
    assert (
        anonymous.get(
            "/news", headers={"If-None-Match": stranger.headers["ETag"]}
        ).status_code
        == 304
    )


def test_class_views_example():
    """Decorated methods: the GET's tag is strong and passes the PUT's
    If-Match; ``decorators``: the whole view is conditional."""
    from docs.examples.class_views import app
    from docs.examples.class_views import DOCS as DOCUMENTS
    from docs.examples.class_views import VERSIONS

    saved = dict(DOCUMENTS), dict(VERSIONS)
    client = app.test_client()
    try:
        tag = client.get("/docs/1").headers["ETag"]
        assert tag.startswith('"')
        assert client.get("/docs/1", headers={"If-None-Match": tag}).status_code == 304
        assert client.put("/docs/1", json={"body": "x"}).status_code == 428
        put = client.put("/docs/1", json={"body": "two"}, headers={"If-Match": tag})
        assert put.status_code == 200
        again = client.put("/docs/1", json={"body": "x"}, headers={"If-Match": tag})
        assert again.status_code == 412
        assert client.get("/docs/1").json == {"body": "two"}
        report = client.get("/report")
        assert report.json == {"total": 42}
        assert (
            client.get(
                "/report", headers={"If-None-Match": report.headers["ETag"]}
            ).status_code
            == 304
        )
    finally:
        DOCUMENTS.update(saved[0])
        VERSIONS.update(saved[1])


def test_auth_order_example():
    from docs.examples.auth_order import app

    user = app.test_client()
    with user.session_transaction() as session:
        session["user_id"] = 1
    tag = user.get("/inbox").headers["ETag"]
    assert user.get("/inbox", headers={"If-None-Match": tag}).status_code == 304
    anonymous = app.test_client().get("/inbox", headers={"If-None-Match": tag})
    assert anonymous.status_code == 401


@runs("flask_condpoll.conditional", '@app.get("/lists/<int:list_id>/items")')
def test_conditional_docstring():
    """Authentication above ``conditional``: a current tag gets a 304 (the
    view never runs) when signed in, and 401 without."""
    from docs.examples.auth_order import login_required

    app = Flask(__name__)
    app.secret_key = "change me"
    CondPoll(app)
    versions = {1: 3}
    namespace = {
        "app": app,
        "conditional": conditional,
        "login_required": login_required,
        "items_version": lambda list_id: versions[list_id],
    }
    exec(shown("flask_condpoll.conditional", "@app.get"), namespace)
    with app.test_request_context():
        tag = validators_for("items", {"list_id": 1}).header
    user = app.test_client()
    with user.session_transaction() as user_session:
        user_session["user_id"] = 1
    assert user.get("/lists/1/items", headers={"If-None-Match": tag}).status_code == (
        304
    )
    anonymous = app.test_client().get("/lists/1/items", headers={"If-None-Match": tag})
    assert anonymous.status_code == 401


# -- SQLAlchemy -------------------------------------------------------------


def test_notifications_example(tmp_path):
    """Both views are conditional; the badge's version is per user: another
    user's notification leaves it at 304."""
    pytest.importorskip("flask_sqlalchemy")
    from docs.examples.notifications import create_app
    from docs.examples.notifications import db
    from docs.examples.notifications import Notification
    from flask_condpoll.testing import check_conditional

    app = create_app(f"sqlite:///{tmp_path}/n.db")
    client = app.test_client()
    client.post("/login/1")

    def notify(user_id=1):
        with app.app_context():
            db.session.add(Notification(user_id=user_id, text="hello"))
            db.session.commit()

    check_conditional(client, "/notifications", change=notify)
    check_conditional(client, "/notifications/badge", change=notify)
    assert client.get("/notifications").json == ["hello", "hello"]
    badge = client.get("/notifications/badge")
    assert badge.json == {"unread": 2}
    tag = badge.headers["ETag"]
    notify(user_id=2)
    assert (
        client.get("/notifications/badge", headers={"If-None-Match": tag}).status_code
        == 304
    )
    notify(user_id=1)
    changed = client.get("/notifications/badge", headers={"If-None-Match": tag})
    assert (changed.status_code, changed.json) == (200, {"unread": 3})


@runs("flask_condpoll.CondPoll.touch", "condpoll.touch(Notification)")
def test_touch_docstring(tmp_path):
    """``touch`` bumps a mapped class's table (every partition of it) and a
    table named by a string."""
    pytest.importorskip("flask_sqlalchemy")
    from docs.examples.notifications import condpoll
    from docs.examples.notifications import create_app
    from docs.examples.notifications import Notification
    from flask_condpoll.registry import whole_table

    app = create_app(f"sqlite:///{tmp_path}/n.db")
    client = app.test_client()
    client.post("/login/1")
    tag = client.get("/notifications/badge").headers["ETag"]
    registry = app.extensions["condpoll"].registry
    audit_log = registry.read(whole_table("audit_log")).versions
    with app.app_context():
        exec(
            shown("flask_condpoll.CondPoll.touch", "condpoll.touch("),
            {"condpoll": condpoll, "Notification": Notification},
        )
    assert registry.read(whole_table("audit_log")).versions != audit_log
    answer = client.get("/notifications/badge", headers={"If-None-Match": tag})
    assert answer.status_code == 200


# -- Front-ends and clients -------------------------------------------------


def polling_page_app(config):
    """The page and badge of docs/examples/polling.py, configured by
    running ``config`` (a client page's block) with ``app`` in scope."""
    from docs.examples import polling

    app = Flask(polling.__name__)  # its templates
    app.secret_key = "change me"
    exec(config, {"app": app})
    condpoll = CondPoll(app)

    @condpoll.etag_mixin
    def current_user():
        return session.get("user_id")

    @app.get("/")
    def page():
        session["user_id"] = 1
        prepare_poll("badge", "badge", tag="span")  # as docs/examples/polling.py
        return render_template("polling_page.html", count=polling.COUNTS[1])

    @app.get("/badge")
    @conditional(etag=lambda: polling.COUNTS[session["user_id"]], poll=5)
    def badge():
        return render_template("badge.html", count=polling.COUNTS[session["user_id"]])

    return app


def as_shown(html, rendered):
    """Whether ``rendered`` is ``html`` as a page shows it: the same
    markup, up to white space and the ``...`` left out of tags."""

    def normal(markup):
        return re.sub(r"\s*(<[^>]*>)\s*", r"\1", " ".join(markup.split()))

    pattern = re.escape(normal(html)).replace(r"\.\.\.", "[^&]+")
    return re.fullmatch(pattern, normal(rendered)) is not None


CLIENT_PAGES = {
    "htmx2": ({"HX-Request": "true"}, "data-condpoll-etag", "If-None-Match", 304),
    "htmx4": ({"HX-Request": "true"}, "hx-ptag", "HX-PTag", 204),
    "unpoly": ({"X-Up-Target": "#badge"}, "up-etag", "If-None-Match", 304),
}


@runs("clients/htmx2.rst", "app.config.update(", "<span")
@runs("clients/htmx4.rst", "app.config.update(", "<span")
@runs("clients/unpoly.rst", "app.config.update(", "<span")
@pytest.mark.parametrize("client", CLIENT_PAGES)
def test_client_page(client):
    """Each client page's settings, accepted by ``CondPoll``: the page loads
    the library, (htmx 4) its extension, then our two files, and the badge
    renders as shown; its first poll with that tag finds nothing new."""
    where = f"clients/{client}.rst"
    config = shown(where, "app.config.update(")
    app = polling_page_app(config)
    browser = app.test_client()
    html = browser.get("/").text
    scripts = [
        url.rsplit("/", 1)[1] if url.startswith("/_condpoll/") else url
        for url in re.findall(r'<script src="([^"]+)"></script>', html)
    ]
    assert scripts == [
        app.config["CONDPOLL_LIBRARY_URL"],
        *([app.config["CONDPOLL_EXTENSION_URL"]] if client == "htmx4" else []),
        "condpoll-poll.js",
        f"condpoll-{client}.js",
    ]
    badge = re.search(r'<span id="badge".*?</span>', html, re.S)[0]
    assert as_shown(shown(where, "<span"), badge), badge
    headers, attribute, request_header, status = CLIENT_PAGES[client]
    tag = re.search(rf' {attribute}="([^"]+)"', badge)[1].replace("&#34;", '"')
    poll = browser.get("/badge", headers=headers | {request_header: tag})
    assert poll.status_code == status
    if client == "htmx4":
        assert poll.headers["Cache-Control"] == "no-store"


@runs("frontends.rst", '{% import "condpoll/macros.html" as condpoll %}')
def test_macros_block():
    """The macros as the front-ends page imports and calls them."""
    app = polling_page_app(shown("clients/htmx2.rst", "app.config.update("))
    block = shown("frontends.rst", "{% import")
    with app.test_request_context():
        session["user_id"] = 1
        prepare_poll("badge", "badge", tag="span")
        html = render_template_string(block, count=3)
    assert '<script src="/static/vendor/htmx.min.js"></script>' in html
    assert "/condpoll-poll.js" in html
    assert "/condpoll-htmx2.js" in html
    badge = re.search(r'<span id="badge".*?</span>', html, re.S)[0]
    assert as_shown(shown("clients/htmx2.rst", "<span"), badge), badge


@pytest.mark.parametrize(
    ("client", "extension_url", "attribute"),
    [
        ("htmx2", None, "data-condpoll-etag"),
        ("htmx4", "/ptag.js", "hx-ptag"),
        ("unpoly", None, "up-etag"),
    ],
)
def test_polling_example(client, extension_url, attribute):
    from docs.examples import polling

    app = polling.create_app(client, extension_url=extension_url)
    page = app.test_client()
    html = page.get("/").get_data(as_text=True)
    assert f"{polling.COUNTS[1]} unread" in html
    tag = re.search(rf'{attribute}="([^"]+)"', html).group(1).replace("&#34;", '"')
    headers = (
        {"X-Up-Target": "#badge"} if client == "unpoly" else {"HX-Request": "true"}
    )
    first_poll = page.get("/badge", headers=headers | {"If-None-Match": tag})
    assert first_poll.status_code == 304
    polling.COUNTS[1] += 1
    try:
        changed = page.get("/badge", headers=headers | {"If-None-Match": tag})
        assert changed.status_code == 200
    finally:
        polling.COUNTS[1] -= 1


def test_steering_example():
    from docs.examples import steering

    app = steering.create_app()
    client = app.test_client()
    htmx = {"HX-Request": "true"}
    first = client.get("/builds/1/log", headers=htmx)
    assert first.headers["Poll-Interval"] == "1000"
    html = first.get_data(as_text=True)
    assert ' data-condpoll-interval="1000" data-condpoll-jitter="0.2" ' in html
    unchanged = client.get(
        "/builds/1/log", headers=htmx | {"If-None-Match": first.headers["ETag"]}
    )
    assert (unchanged.status_code, unchanged.headers["Poll-Interval"]) == (304, "1000")
    steering.BUILDS[1]["lines"].append("done")
    steering.BUILDS[1]["done"] = True
    try:
        last = client.get("/builds/1/log", headers=htmx)
        assert (last.status_code, last.headers["Poll-Interval"]) == (286, "-1")
        assert "done" in last.get_data(as_text=True)
    finally:
        steering.BUILDS[1] = {"lines": ["cloning"], "done": False}


@runs("polling.rst", "$ flask condpoll polling")
def test_polling_commands(tmp_path):
    """The operator's commands, in the order shown, and what a poll of a
    view declared with ``poll=2`` hears after each."""
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="change me", CONDPOLL_STATS_URL=None)
    CondPoll(app)

    @app.get("/badge")
    @conditional(etag=lambda: 1, poll=2)
    def badge():
        return "3 unread"

    def poll_interval():
        answer = app.test_client().get("/badge", headers={"HX-Request": "true"})
        return answer.headers["Poll-Interval"]

    heard = []
    for line in shown("polling.rst", "$ flask condpoll polling").splitlines():
        words = shlex.split(line.split("#", 1)[0])
        assert words[:3] == ["$", "flask", "condpoll"], line
        result = app.test_cli_runner().invoke(args=words[2:])
        assert result.exit_code == 0, result.output
        heard.append(poll_interval())
    assert heard == ["2000", "6000", "-1", "6000", "2000"]


# -- Deployment -------------------------------------------------------------


@runs("deployment.rst", "app.config.update(")
def test_deployment_config():
    """The many-hosts settings: accepted by ``CondPoll``, the registry and
    the stats in that Redis, and the same tag on every host."""
    from flask_condpoll.registry.redis import RedisRegistry
    from flask_condpoll.stats.redis_store import RedisStatsStore

    tags = set()
    for host in ("one", "two"):
        app = Flask(f"host_{host}")
        exec(shown("deployment.rst", "app.config.update("), {"app": app})
        CondPoll(app)

        @app.get("/status")
        @conditional(etag=lambda: "all good")
        def status():
            return "all good"

        state = app.extensions["condpoll"]
        for store in (state.registry, state.stats_store):
            assert isinstance(store, RedisRegistry | RedisStatsStore)
            connection = store.client.connection_pool.connection_kwargs
            assert (connection["host"], connection["port"], connection["db"]) == (
                "cache.internal",
                6379,
                0,
            )
        with app.test_request_context():  # no request: Redis is never asked
            tags.add(validators_for("status").header)
    assert len(tags) == 1


def test_shared_fragment_example():
    from docs.examples.shared_fragment import app
    from docs.examples.shared_fragment import NOTICE

    alice, bob = app.test_client(), app.test_client()
    with alice.session_transaction() as session:
        session["user_id"] = 1
    notice = alice.get("/notice")
    assert notice.headers["Cache-Control"] == "public, max-age=30"
    assert "Vary" not in notice.headers  # the same for every request
    tag = notice.headers["ETag"]
    assert bob.get("/notice", headers={"If-None-Match": tag}).status_code == 304
    saved = dict(NOTICE)
    try:
        NOTICE.update(text="Maintenance <tonight>", version=2)
        changed = bob.get("/notice", headers={"If-None-Match": tag})
        assert changed.get_data(as_text=True) == (
            '<p id="notice">Maintenance &lt;tonight&gt;</p>'
        )
    finally:
        NOTICE.update(saved)


def test_gunicorn_conf_example():
    """gunicorn's hook installs the handler that releases held polls."""
    import signal

    from docs.examples import gunicorn_conf

    assert gunicorn_conf.worker_class == "gevent"
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        gunicorn_conf.post_worker_init(worker=None)
        for signum, handler in before.items():
            assert signal.getsignal(signum) is not handler
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


# -- Waiting ----------------------------------------------------------------


def test_waiting_example_answers_a_held_poll_at_the_commit(tmp_path):
    pytest.importorskip("flask_sqlalchemy")
    import http.client

    from docs.examples.waiting import create_app
    from docs.examples.waiting import db
    from docs.examples.waiting import Notification

    app = create_app(f"sqlite:///{tmp_path}/w.db")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def request(method, path, **headers):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body

    try:
        login, _ = request("POST", "/login/1")
        cookie = login.headers["Set-Cookie"].split(";", 1)[0]
        first, _ = request("GET", "/badge", Cookie=cookie)
        tag = first.headers["ETag"]

        def notify(user_id):
            time.sleep(0.5)
            with app.app_context():
                db.session.add(Notification(user_id=user_id))
                db.session.commit()

        threading.Thread(target=notify, args=(2,)).start()  # another user: no wake
        threading.Thread(target=notify, args=(1,)).start()
        started = time.monotonic()
        held, body = request(
            "GET", "/badge", Cookie=cookie, **{"If-None-Match": tag, "Prefer": "wait=5"}
        )
        assert held.status == 200
        assert json.loads(body) == {"unread": 1}
        assert 0.4 < time.monotonic() - started < 2
        assert held.headers["Preference-Applied"].startswith("wait=")
    finally:
        server.shutdown()
        thread.join()


# -- Stats ------------------------------------------------------------------


def test_metrics_example(tmp_path):
    pytest.importorskip("prometheus_client")
    from docs.examples.metrics import create_app
    from docs.examples.metrics import mount_metrics

    app = create_app(f"sqlite:///{tmp_path}/stats.db")
    client = app.test_client()
    tag = client.get("/status").headers["ETag"]
    client.get("/status", headers={"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'condpoll_requests_total{endpoint="status",outcome="not_modified"} 1.0' in (
        metrics
    )
    outsider = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outsider.status_code == 403
    mount_metrics(app)
    mounted = client.get("/internal/metrics").get_data(as_text=True)
    assert 'condpoll_requests_total{endpoint="status",outcome="full"} 1.0' in mounted


@runs("stats.rst", "sum by (endpoint)")
def test_promql_example_names_real_series(tmp_path):
    """Every metric and label the PromQL example selects is exposed."""
    pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    from docs.examples.metrics import create_app

    app = create_app(f"sqlite:///{tmp_path}/stats.db")
    client = app.test_client()
    tag = client.get("/status").headers["ETag"]
    client.get("/status", headers={"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()
    samples = [
        sample
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    ]
    query = shown("stats.rst", "sum by (endpoint)")
    selected = re.findall(r"(condpoll_\w+)(?:\{([^}]*)\})?", query)
    assert selected
    for name, selector in selected:
        wanted = dict(re.findall(r'(\w+)="([^"]*)"', selector))
        assert any(
            sample.name == name and wanted.items() <= sample.labels.items()
            for sample in samples
        ), (name, wanted)
        for label in re.findall(r"by \((\w+)\)", query):
            assert all(label in s.labels for s in samples if s.name == name)


def test_stats_page_example(tmp_path):
    from docs.examples.stats_page import create_app

    app = create_app(f"sqlite:///{tmp_path}/stats.db")
    client = app.test_client()
    assert client.get("/condpoll/").headers["Location"] == "/login"
    with client.session_transaction() as session:
        session["user_id"] = 1
    assert client.get("/condpoll/").status_code == 403
    with client.session_transaction() as session:
        session["role"] = "admin"
    page = client.get("/condpoll/")
    assert page.status_code == 200
    assert b"<h1>Conditional polling</h1>" in page.data
    tag = page.headers["ETag"]
    assert client.get("/condpoll/", headers={"If-None-Match": tag}).status_code == 304


@pytest.fixture
def example_cli(tmp_path, monkeypatch):
    """Run ``flask --app example_app ...`` in this process, on a seeded
    database and a stats store of this test's own."""
    pytest.importorskip("flask_sqlalchemy")
    from click.testing import CliRunner
    from flask.cli import cli

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/example.db")
    monkeypatch.setenv("CONDPOLL_STATS_URL", f"sqlite:///{tmp_path}/stats.db")

    def run(command):
        words = shlex.split(command) if isinstance(command, str) else command
        return CliRunner().invoke(cli, words)

    assert run("--app example_app seed").exit_code == 0
    return run


def shown_output(line, output):
    """Whether ``output`` is ``line`` as printed, up to tags and decimals."""
    pattern = "".join(
        r'W/"[\w.-]+"'
        if part.startswith('W/"')
        else r"\d+\.\d+"
        if re.fullmatch(r"\d+\.\d+", part)
        else re.escape(part)
        for part in re.split(r'(W/"[^"]*"|\d+\.\d+)', line)
    )
    return re.fullmatch(pattern, output) is not None


@runs("stats.rst", "$ flask --app example_app condpoll explain")
def test_explain_as_shown(example_cli):
    """The ``explain`` example with the tag it leaves out: the output as
    printed, up to the tag and the times."""
    command, *printed = shown(
        "stats.rst", "$ flask --app example_app condpoll explain"
    ).splitlines()
    unconditional = example_cli(
        "--app example_app condpoll explain /status -H 'HX-Request: true'"
    )
    tag = re.search(r"ETag: +(\S+)", unconditional.output)[1]
    words = [word.replace('W/"X2gv..."', tag) for word in shlex.split(command)]
    assert words[:2] == ["$", "flask"]
    assert f"If-None-Match: {tag}" in words
    result = example_cli(words[2:])
    assert result.exit_code == 0, result.output
    output = result.output.splitlines()
    assert len(output) == len(printed), result.output
    for want, got in zip(printed, output, strict=True):
        assert shown_output(want, got), (want, got)


@runs("stats.rst", "Server-Timing: condpoll;")
def test_server_timing_as_shown(tmp_path):
    """A 304's Server-Timing header, as printed up to the durations."""
    pytest.importorskip("flask_sqlalchemy")
    from example_app import create_app
    from example_app.models import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db",
            "CONDPOLL_STATS_URL": None,
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    htmx = {"HX-Request": "true"}
    tag = client.get("/status", headers=htmx).headers["ETag"]
    answer = client.get("/status", headers=htmx | {"If-None-Match": tag})
    assert answer.status_code == 304
    header = f"Server-Timing: {answer.headers['Server-Timing']}"
    assert shown_output(shown("stats.rst", "Server-Timing: condpoll;"), header)


@runs("stats.rst", "$ flask --app example_app condpoll stats")
def test_stats_output_as_shown(example_cli, tmp_path):
    """The ``stats`` example: the command as printed, its lines as the real
    output has them (up to the numbers), and laid out as the command lays
    out its columns."""
    from example_app import create_app

    app = create_app()  # the database and store of example_cli
    client = app.test_client()
    htmx = {"HX-Request": "true"}
    tag = client.get("/status", headers=htmx).headers["ETag"]
    for _ in range(24):
        client.get("/status", headers=htmx | {"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()
    command, *printed = shown(
        "stats.rst", "$ flask --app example_app condpoll stats"
    ).splitlines()
    assert command.startswith("$ flask ")
    result = example_cli(command.removeprefix("$ flask "))
    assert result.exit_code == 0, result.output
    output = result.output.splitlines()
    assert len(output) == len(printed), result.output

    def cells(line):
        return re.split(r" {2,}", line.strip())

    number = r"\d+(\.\d+)?"
    patterns = [number, r"\d+%", rf"{number} (B|kB|MB|GB)"]
    patterns += [rf"{number} (B|kB|MB|GB)", rf"{number} / {number}"]
    patterns += [rf"{number} / {number}"]
    header, dashes, row, verdict, footer = printed
    assert cells(header) == cells(output[0])
    assert len(dashes.split()) == len(output[1].split()) == len(cells(header))
    for line in (row, output[2]):
        assert cells(line)[0] == "monitor.status"
        for cell, pattern in zip(cells(line)[1:], patterns, strict=True):
            assert re.fullmatch(pattern, cell), (cell, pattern)
    assert (verdict, footer) == (output[3], output[4])
    # Laid out as the command does: each column as wide as its widest cell,
    # the first left-aligned, the others right-aligned, two spaces apart.
    table = [cells(header), cells(row)]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    assert dashes == "  ".join("-" * width for width in widths)
    for line, line_cells in zip((header, row), table, strict=True):
        assert line == "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line_cells, widths, strict=True))
        )


# -- Architecture and benchmarks ---------------------------------------------


@runs("architecture.rst", "extension.py")
def test_architecture_diagram_names_real_modules():
    diagram = shown("architecture.rst", "extension.py")
    package = ROOT / "flask_condpoll"
    files = {path.name for path in package.rglob("*.py")}
    folders = {path.name for path in package.rglob("*") if path.is_dir()}
    for name in re.findall(r"\b(\w+)\.py\b", diagram):
        assert f"{name}.py" in files, name
    for name in re.findall(r"\b(\w+)/", diagram):
        assert name in folders, name


@runs("benchmarks.rst", "python -m benchmarks.latency")
def test_latency_commands(monkeypatch):
    """The latency commands as printed parse with the benchmark's own options
    (running one is tests/test_benchmarks.py's job)."""
    from benchmarks import latency

    monkeypatch.setattr(latency, "missing", lambda: ("Chromium", "not here"))
    lines = shown("benchmarks.rst", "python -m benchmarks.latency").splitlines()
    assert len(lines) == 3
    for line in lines:
        words = shlex.split(line.split("#", 1)[0])
        assert words[:3] == ["python", "-m", "benchmarks.latency"], line
        with pytest.raises(SystemExit) as stopped:
            latency.main(words[3:])
        assert stopped.value.code == "Chromium is unavailable: not here", line


@runs("benchmarks.rst", "python -m benchmarks.run --mode instructions")
def test_benchmark_commands(monkeypatch):
    """The commands as printed (and as ``make bench`` runs them) parse with
    the benchmark's own options and name real scenarios; running them is
    tests/test_benchmarks.py's job (the last one) and the benchmark's."""
    from benchmarks import instructions
    from benchmarks import run
    from benchmarks.workload import BY_NAME

    parsed = []
    monkeypatch.setattr(instructions, "run", parsed.append)
    monkeypatch.setattr(run, "run_wallclock", parsed.append)
    lines = shown("benchmarks.rst", "python -m benchmarks.run").splitlines()
    lines += [
        line.replace(".venv/bin/python", "python")
        for line in make_dry_run("make bench")
        if "-m benchmarks.run" in line
    ]
    for line in lines:
        words = shlex.split(line.split("#", 1)[0])
        assert words[:3] == ["python", "-m", "benchmarks.run"], line
        monkeypatch.setattr(sys, "argv", ["benchmarks.run", *words[3:]])
        run.main()
    assert len(parsed) == len(lines) == 5
    for args in parsed:
        if args.mode == "instructions":
            assert set(args.scenarios) <= set(BY_NAME)
