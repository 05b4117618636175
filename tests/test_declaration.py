"""Programming mistakes in a declaration fail when the view is decorated, with a
message naming the argument and the fix."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.views import MethodView

from flask_condpoll import conditional


def version(**kwargs: object) -> int:
    return 1


class TestArguments:
    def test_needs_a_generator(self):
        with pytest.raises(TypeError, match=r"conditional\(etag=items_version\)"):
            conditional()

    @pytest.mark.parametrize("name", ["etag", "last_modified"])
    def test_generator_must_be_callable(self, name: str):
        with pytest.raises(TypeError, match=f"{name} must be a function"):
            conditional(**{name: 42})  # type: ignore[arg-type]

    def test_expires_needs_a_timedelta(self):
        with pytest.raises(TypeError, match=r"timedelta\(seconds=3600\)"):
            conditional(etag=version, expires=3600)  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [3, b"/x", ["/x"]])
    def test_content_location_type(self, value: object):
        with pytest.raises(TypeError, match="content_location must be"):
            conditional(etag=version, content_location=value)  # type: ignore[arg-type]

    def test_content_location_without_line_breaks(self):
        with pytest.raises(ValueError, match="line breaks"):
            conditional(etag=version, content_location="/x\r\nSet-Cookie: a=b")

    @pytest.mark.parametrize("value", ["", " ", "\t"])
    def test_content_location_is_a_uri(self, value: str):
        with pytest.raises(ValueError, match="content_location must be a URI"):
            conditional(etag=version, content_location=value)

    @pytest.mark.parametrize("value", [" ", "\t", "  \t"])
    def test_cache_control_is_not_blank(self, value: str):
        with pytest.raises(ValueError, match="cache_control must not be blank"):
            conditional(etag=version, cache_control=value)

    @pytest.mark.parametrize(
        ("vary", "error"),
        [("HX-Request", TypeError), (["bad header"], ValueError), ([""], ValueError)],
    )
    def test_vary(self, vary: object, error: type[Exception]):
        with pytest.raises(error, match="vary"):
            conditional(etag=version, vary=vary)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "vary",
        [
            {"Accept-Language": True},
            {"Accept-Language", "HX-Request"},
            (name for name in ["HX-Request"]),
        ],
    )
    def test_vary_must_be_a_list(self, vary: object):
        with pytest.raises(TypeError, match="vary must be a list of header names"):
            conditional(etag=version, vary=vary)  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [3600, ["private"], b"no-store"])
    def test_cache_control_type(self, value: object):
        with pytest.raises(TypeError, match="cache_control must be a string"):
            conditional(etag=version, cache_control=value)  # type: ignore[arg-type]

    def test_cache_control_without_line_breaks(self):
        with pytest.raises(ValueError, match="line breaks"):
            conditional(etag=version, cache_control="no-store\nX: y")

    @pytest.mark.parametrize(
        "value", ["public, max\u2011age=60", "private, no-cache\x7f", "no-store\x01"]
    )
    def test_cache_control_is_visible_ascii(self, value: str):
        with pytest.raises(ValueError, match="cache_control must be visible ASCII"):
            conditional(etag=version, cache_control=value)

    @pytest.mark.parametrize("name", ["weak", "require_precondition", "app_mixins"])
    def test_flags_must_be_booleans(self, name: str):
        with pytest.raises(TypeError, match=f"{name} must be True"):
            conditional(etag=version, **{name: "false"})  # type: ignore[arg-type]

    @pytest.mark.parametrize("query", ["q", [1], [""], 3])
    def test_query(self, query: object):
        with pytest.raises(TypeError, match="query must"):
            conditional(etag=version, query=query)  # type: ignore[arg-type]

    @pytest.mark.parametrize("mixins", ["user", [1], lambda: 1])
    def test_mixins(self, mixins: object):
        with pytest.raises(TypeError, match="mixins must be"):
            conditional(etag=version, mixins=mixins)  # type: ignore[arg-type]


class TestSignatures:
    def test_generator_missing_a_view_argument(self):
        def items_version():
            return 1

        with pytest.raises(
            TypeError,
            match=r"cannot be called with the view's keyword arguments \(list_id\)",
        ):

            @conditional(etag=items_version)
            def items(list_id):
                return "x"

    def test_generator_with_an_argument_the_view_lacks(self):
        with pytest.raises(TypeError, match="missing a required argument: 'list_id'"):

            @conditional(etag=lambda list_id: 1)
            def items():
                return "x"

    def test_last_modified_and_content_location_are_checked_too(self):
        with pytest.raises(TypeError, match="last_modified generator"):

            @conditional(last_modified=lambda: None)
            def one(item_id):
                return "x"

        with pytest.raises(TypeError, match="content_location generator"):

            @conditional(etag=version, content_location=lambda: "/x")
            def two(item_id):
                return "x"

    def test_kwargs_accepts_anything(self):
        @conditional(etag=version)
        def items(list_id, page):
            return "x"

    def test_view_with_kwargs_is_not_checked(self):
        @conditional(etag=lambda: 1)
        def items(**kwargs):
            return "x"

    def test_defaults_in_the_generator_are_fine(self):
        @conditional(etag=lambda list_id=None: 1)
        def items():
            return "x"

    def test_method_view_method_skips_self(self):
        class Doc(MethodView):
            @conditional(etag=lambda doc_id: 1)
            def get(self, doc_id):
                return "x"

        with pytest.raises(TypeError, match="cannot be called"):

            class Wrong(MethodView):
                @conditional(etag=lambda: 1)
                def get(self, doc_id):
                    return "x"


class TestMisuse:
    def test_bare_decorator_fails_when_registered(self):
        app = Flask(__name__)
        with pytest.raises(
            TypeError,
            match="@conditional was registered as the view itself",
        ):

            @app.get("/")
            @conditional  # type: ignore[arg-type]
            def index():
                return "x"

    def test_bare_decorator_with_an_explicit_endpoint(self):
        app = Flask(__name__)

        def index():
            return "x"

        with pytest.raises(TypeError, match="registered as the view itself"):
            app.add_url_rule("/", "index", conditional(index))  # type: ignore[arg-type]

    def test_decorating_something_that_is_not_a_function(self):
        with pytest.raises(TypeError, match="decorates a view function"):
            conditional(etag=version)(42)  # type: ignore[type-var]

    def test_the_decorator_is_not_a_view(self):
        decorator = conditional(etag=version)
        with pytest.raises(AttributeError):
            decorator.anything  # noqa: B018


def test_expires_is_a_timedelta():
    conditional(etag=version, expires=dt.timedelta(minutes=5))
    conditional(etag=version, expires=dt.timedelta(0))
    conditional(etag=version, expires=dt.timedelta(days=365))


@pytest.mark.parametrize(
    "expires",
    [
        dt.timedelta(days=999_999_999),
        dt.timedelta(days=365, seconds=1),
        dt.timedelta(seconds=-1),
    ],
)
def test_expires_out_of_range_fails_when_decorating(expires: dt.timedelta):
    with pytest.raises(ValueError, match="expires must be from timedelta"):
        conditional(etag=version, expires=expires)


@pytest.mark.parametrize(
    ("poll", "error", "message"),
    [
        ("5s", TypeError, "poll must be a number of seconds or a Poll"),
        (0, ValueError, "Invalid interval 0"),
        (-1, ValueError, "Invalid interval -1"),
    ],
)
def test_poll_is_checked_when_decorating(poll, error, message):
    with pytest.raises(error, match=message):
        conditional(etag=lambda: 1, poll=poll)


def test_poll_as_seconds_or_a_poll():
    from flask_condpoll import Poll

    assert conditional(etag=lambda: 1, poll=5).declaration.poll == Poll(5)
    declared = Poll(1, max_interval=10)
    assert conditional(etag=lambda: 1, poll=declared).declaration.poll is declared


@pytest.mark.parametrize(
    ("wait", "error"),
    [("25", TypeError), (True, TypeError), (0, ValueError), (301, ValueError)],
)
def test_wait_is_checked_when_decorating(wait, error):
    with pytest.raises(error, match="wait must be"):
        conditional(etag=lambda: 1, wait=wait)
