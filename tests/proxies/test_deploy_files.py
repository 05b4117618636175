"""Every file in deploy/ is shown in the docs and run by these tests."""

from __future__ import annotations

import re

from .servers import DEPLOY
from .servers import SETUPS


def test_every_deploy_file_is_shown_and_run():
    files = {p.relative_to(DEPLOY).as_posix() for p in DEPLOY.rglob("*.*")}
    docs = (DEPLOY.parent / "docs" / "deployment.rst").read_text()
    shown = set(re.findall(r"literalinclude:: \.\./deploy/(\S+)", docs))
    run = {
        name for setup in SETUPS.values() for name in (*setup.fragments, *setup.http)
    }
    assert files == shown == run
