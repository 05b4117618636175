"""nginx, Apache httpd and Varnish in front of the app, each with its own
config, pid file, logs and temp dirs; the deploy/ fragments included as they
are."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..redis_server import free_port
from ..services import unavailable
from .daemon import Daemon

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX_BROTLI = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
APACHE_MODULES = Path("/usr/lib/apache2/modules")


@dataclass(frozen=True)
class Setup:
    """One proxy configuration.

    :param server: ``nginx``, ``apache2`` or ``varnishd``.
    :param fragments: files under deploy/ included in the server's context
        (nginx: the server block, Apache: the virtual host, Varnish: the VCL).
    :param http: nginx only: files included in the http block.
    :param inline: nginx only: directives added to the server block.
    :param compresses: whether responses come back compressed.
    :param forwards_conditionals: whether every conditional GET reaches the
        app with its If-None-Match (the builtin VCL looks up cookieless ones,
        and nginx drops it from requests it might cache).
    :param shares: whether public responses are stored and shared.
    :param protects_writes: whether write URLs keep their strong tags.
    """

    name: str
    server: str
    fragments: tuple[str, ...] = ()
    http: tuple[str, ...] = ()
    inline: str = ""
    compresses: bool = False
    forwards_conditionals: bool = True
    shares: bool = False
    protects_writes: bool = True


SETUPS = {
    setup.name: setup
    for setup in (
        Setup(
            "nginx", "nginx", ("nginx/condpoll.conf", "nginx/writes.conf"),
            compresses=True,
        ),
        Setup(
            "nginx-cache", "nginx",
            ("nginx/condpoll.conf", "nginx/writes.conf", "nginx/cache.conf"),
            http=("nginx/cache-map.conf",), compresses=True, shares=True,
        ),
        # Writes without their location: compressed like everything else.
        Setup(
            "nginx-compress-all", "nginx", ("nginx/condpoll.conf",),
            compresses=True, protects_writes=False,
        ),
        # What cache-map.conf avoids: bypassing the cache instead of turning it off.
        Setup(
            "nginx-bypass", "nginx", ("nginx/condpoll.conf",),
            inline=(
                "proxy_cache condpoll;\n"
                "proxy_cache_bypass $http_hx_request$http_if_none_match;\n"
                "proxy_no_cache $http_hx_request$http_if_none_match;\n"
            ),
        ),
        Setup(
            "apache", "apache2", ("apache/condpoll.conf", "apache/writes.conf"),
            compresses=True,
        ),
        Setup(
            "apache-compress-all", "apache2", ("apache/condpoll.conf",),
            compresses=True, protects_writes=False,
        ),
        Setup("varnish", "varnishd", ("varnish/condpoll.vcl",), shares=True),
        Setup(
            "varnish-builtin", "varnishd", forwards_conditionals=False, shares=True
        ),
    )
}  # fmt: skip


def start(setup: Setup, tmp: Path, app_port: int) -> Daemon:
    """Write the setup's config under ``tmp`` and start the server on it."""
    executable = shutil.which(setup.server, path=f"/usr/sbin:{os.environ['PATH']}")
    if executable is None:
        unavailable(setup.server, "not installed")
    tmp.mkdir()
    port = free_port()
    command = COMMANDS[setup.server](setup, tmp, port, app_port)
    daemon = Daemon(setup.name, [executable, *command], port, tmp / "output.log")
    daemon.start()
    return daemon


def _includes(line: str, files: tuple[str, ...]) -> str:
    """``line`` (with ``{}`` for the path) for each deploy/ file."""
    return "".join(line.format(DEPLOY / name) + "\n" for name in files)


def nginx(setup: Setup, tmp: Path, port: int, app_port: int) -> list[str]:
    if not NGINX_BROTLI.exists():
        unavailable("nginx's brotli module", f"{NGINX_BROTLI} is missing")
    temp = "\n".join(
        f"{kind}_temp_path {tmp}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;" if os.geteuid() == 0 else ""  # temp dirs are root's
    http = _includes("include {};", setup.http)
    server = _includes("include {};", setup.fragments)
    (tmp / "nginx.conf").write_text(
        f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
{user}
load_module {NGINX_BROTLI};
events {{ worker_connections 256; }}
http {{
access_log {tmp}/access.log;
{temp}
proxy_cache_path {tmp}/cache keys_zone=condpoll:1m;
upstream condpoll {{ server 127.0.0.1:{app_port}; }}
{http}
server {{
listen 127.0.0.1:{port};
{server}
{setup.inline}
}}
}}
"""
    )
    return ["-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]


def apache2(setup: Setup, tmp: Path, port: int, app_port: int) -> list[str]:
    (tmp / "run").mkdir()
    modules = (
        "mpm_event", "authz_core", "proxy", "proxy_http", "filter", "deflate",
        "brotli", "env",
    )  # fmt: skip
    loads = "\n".join(
        f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so" for name in modules
    )
    user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""  # not as root
    vhost = _includes('Include "{}"', setup.fragments)
    (tmp / "httpd.conf").write_text(
        f"""ServerRoot {tmp}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {tmp}/httpd.pid
DefaultRuntimeDir {tmp}/run
ErrorLog {tmp}/error.log
LogLevel warn
{user}
{loads}
Define CONDPOLL_APP http://127.0.0.1:{app_port}
<VirtualHost 127.0.0.1:{port}>
{vhost}</VirtualHost>
"""
    )
    return ["-d", str(tmp), "-f", str(tmp / "httpd.conf"), "-DFOREGROUND"]


def varnishd(setup: Setup, tmp: Path, port: int, app_port: int) -> list[str]:
    includes = _includes('include "{}";', setup.fragments)
    (tmp / "main.vcl").write_text(
        f"""vcl 4.1;
backend default {{ .host = "127.0.0.1"; .port = "{app_port}"; }}
{includes}"""
    )
    return [
        "-F", "-j", "none", "-n", str(tmp / "varnish"), "-P", str(tmp / "varnish.pid"),
        "-a", f"127.0.0.1:{port}", "-f", str(tmp / "main.vcl"), "-s", "malloc,32m",
    ]  # fmt: skip


COMMANDS = {"nginx": nginx, "apache2": apache2, "varnishd": varnishd}
