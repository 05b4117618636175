"""A build log polled until the build ends, steered by the server."""

from flask import Flask
from flask import render_template_string

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import Poll
from flask_condpoll import stop_polling

BUILDS = {1: {"lines": ["cloning"], "done": False}}

LOG = """{% import "condpoll/macros.html" as condpoll %}
{% call condpoll.poll("build_log", "log", view_args={"build_id": build_id}) %}
<pre>{{ build.lines | join("\\n") }}</pre>
{% endcall %}"""


def create_app():
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="change me",
        CONDPOLL_LIBRARY_URL="/static/htmx.min.js",
        CONDPOLL_POLL_FACTOR=1,  # 2 halves every poller's rate, 0 stops them
        CONDPOLL_POLL_JITTER=0.2,  # each wait is 80 % to 120 % of the interval
    )
    CondPoll(app)

    def log_version(build_id):
        build = BUILDS[build_id]
        return len(build["lines"]), build["done"]

    @app.get("/builds/<int:build_id>/log")
    @conditional(etag=log_version, poll=Poll(1, max_interval=10))
    def build_log(build_id):
        build = BUILDS[build_id]
        html = render_template_string(LOG, build=build, build_id=build_id)
        if build["done"]:
            return stop_polling(html)  # the final log stays; no more polls
        return html

    return app
