"""The decorator against RFC 9110, section by section, through Flask."""

from __future__ import annotations

import http.client
import threading
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from werkzeug.serving import make_server

from .conftest import AFTER
from .conftest import BEFORE
from .conftest import LAST_MODIFIED
from .conftest import tag_of

UNSAFE = ["PUT", "POST", "PATCH", "DELETE"]


class TestIfMatch:
    """§13.1.1 If-Match: strong comparison; ``*``; malformed values fail."""

    @pytest.mark.parametrize("method", UNSAFE)
    def test_current_strong_tag_lets_write_through(self, client, resource, method):
        tag = tag_of(client, "/strong")
        response = client.open("/strong", method=method, headers={"If-Match": tag})
        assert response.status_code == 200
        assert resource.calls == ["GET", method]

    @pytest.mark.parametrize("method", UNSAFE)
    def test_stale_tag_changes_nothing(self, client, resource, method):
        tag = tag_of(client, "/strong")
        resource.version = 2
        response = client.open("/strong", method=method, headers={"If-Match": tag})
        assert response.status_code == 412
        assert resource.calls == ["GET"]

    def test_tag_in_a_list(self, client):
        tag = tag_of(client, "/strong")
        headers = {"If-Match": f'"other", {tag}, "more"'}
        assert client.put("/strong", headers=headers).status_code == 200

    def test_weak_request_tag_never_matches(self, client, resource):
        tag = tag_of(client, "/strong")
        response = client.put("/strong", headers={"If-Match": "W/" + tag})
        assert response.status_code == 412
        assert resource.calls == ["GET"]

    def test_weak_current_tag_never_matches(self, client, resource):
        tag = tag_of(client, "/weak")
        assert tag.startswith('W/"')
        for sent in (tag, tag[2:]):
            assert client.put("/weak", headers={"If-Match": sent}).status_code == 412
        assert resource.calls == ["GET"]

    def test_star_matches_an_existing_representation(self, client):
        assert client.put("/strong", headers={"If-Match": "*"}).status_code == 200

    def test_star_fails_without_representation(self, client, resource):
        resource.version = None
        assert client.put("/strong", headers={"If-Match": "*"}).status_code == 412
        assert resource.calls == []

    @pytest.mark.parametrize(
        "value", ["garbage", "", '"unterminated', '"a", *', "*, *", "W/garbage"]
    )
    def test_malformed_value_fails(self, client, resource, value):
        assert client.put("/strong", headers={"If-Match": value}).status_code == 412
        assert resource.calls == []

    def test_unquoted_current_tag_is_malformed(self, client, resource):
        tag = tag_of(client, "/strong")
        response = client.put("/strong", headers={"If-Match": tag.strip('"')})
        assert response.status_code == 412
        assert resource.calls == ["GET"]

    def test_star_in_a_list_is_malformed(self, client, resource):
        response = client.put("/strong", headers={"If-Match": '"stale", *'})
        assert response.status_code == 412
        assert resource.calls == []

    def test_get_with_failing_if_match_is_412(self, client):
        assert client.get("/strong", headers={"If-Match": '"x"'}).status_code == 412

    def test_get_with_matching_if_match_is_200(self, client):
        tag = tag_of(client, "/strong")
        assert client.get("/strong", headers={"If-Match": tag}).status_code == 200


class TestIfNoneMatch:
    """§13.1.2 If-None-Match: weak comparison; lists; ``*``; 304 or 412."""

    @pytest.mark.parametrize("url", ["/weak", "/strong"])
    def test_current_tag_gives_304_without_running_view(self, client, resource, url):
        tag = tag_of(client, url)
        response = client.get(url, headers={"If-None-Match": tag})
        assert response.status_code == 304
        assert response.data == b""
        assert resource.calls == ["GET"]

    def test_weakened_tag_matches(self, client):
        tag = tag_of(client, "/strong")
        response = client.get("/strong", headers={"If-None-Match": "W/" + tag})
        assert response.status_code == 304

    def test_strong_form_of_weak_tag_matches(self, client):
        tag = tag_of(client, "/weak")
        response = client.get("/weak", headers={"If-None-Match": tag[2:]})
        assert response.status_code == 304

    def test_tag_in_a_list(self, client):
        tag = tag_of(client, "/weak")
        headers = {"If-None-Match": f'"a", W/"b", {tag}'}
        assert client.get("/weak", headers=headers).status_code == 304

    def test_stale_tag_gives_200_with_new_tag(self, client, resource):
        tag = tag_of(client, "/weak")
        resource.version = 2
        response = client.get("/weak", headers={"If-None-Match": tag})
        assert response.status_code == 200
        assert response.headers["ETag"] != tag

    def test_star_gives_304_when_representation_exists(self, client):
        assert client.get("/weak", headers={"If-None-Match": "*"}).status_code == 304

    def test_star_without_representation_runs_view(self, client, resource):
        resource.version = None
        response = client.get("/weak", headers={"If-None-Match": "*"})
        assert response.status_code == 200
        assert "ETag" not in response.headers

    @pytest.mark.parametrize("method", UNSAFE)
    def test_unsafe_method_gets_412_not_304(self, client, resource, method):
        tag = tag_of(client, "/weak")
        response = client.open("/weak", method=method, headers={"If-None-Match": tag})
        assert response.status_code == 412
        assert resource.calls == ["GET"]

    @pytest.mark.parametrize("method", UNSAFE)
    def test_star_on_existing_resource_blocks_writes(self, client, resource, method):
        response = client.open("/weak", method=method, headers={"If-None-Match": "*"})
        assert response.status_code == 412
        assert resource.calls == []

    def test_star_on_missing_resource_allows_create(self, client, resource):
        resource.version = None
        response = client.put("/weak", headers={"If-None-Match": "*"})
        assert response.status_code == 200

    @pytest.mark.parametrize("value", ["garbage", "", ",,,", '"x"'])
    def test_non_matching_or_malformed_runs_view(self, client, value):
        assert client.get("/weak", headers={"If-None-Match": value}).status_code == 200

    def test_other_endpoints_tag_does_not_match(self, client):
        tag = tag_of(client, "/weak")
        assert client.get("/strong", headers={"If-None-Match": tag}).status_code == 200


class TestIfModifiedSince:
    """§13.1.3 If-Modified-Since: GET/HEAD only; second resolution; invalid ignored."""

    @pytest.mark.parametrize(
        ("since", "status"), [(LAST_MODIFIED, 304), (AFTER, 304), (BEFORE, 200)]
    )
    def test_compares_whole_seconds(self, client, since, status):
        response = client.get("/dated", headers={"If-Modified-Since": since})
        assert response.status_code == status

    def test_subsecond_update_still_304_at_same_second(self, client, resource):
        # Modified at 12:00:00.750: the client holds "12:00:00 GMT".
        assert resource.modified.microsecond == 750000
        response = client.get("/dated", headers={"If-Modified-Since": LAST_MODIFIED})
        assert response.status_code == 304

    def test_last_modified_header_is_truncated(self, client):
        assert client.get("/dated").headers["Last-Modified"] == LAST_MODIFIED

    @pytest.mark.parametrize(
        "since",
        [
            "Wednesday, 01-May-24 12:00:00 GMT",  # rfc850-date
            "Wed May  1 12:00:00 2024",  # asctime-date
        ],
    )
    def test_obsolete_date_formats(self, client, since):
        response = client.get("/dated", headers={"If-Modified-Since": since})
        assert response.status_code == 304

    @pytest.mark.parametrize(
        "since",
        [
            "garbage",
            "",
            "2024-05-01T12:00:00Z",
            "Wed, 31 Feb 2024 12:00:00 GMT",
            "Wed, 01 May 99999 12:00:00 GMT",
            f"{AFTER}, {AFTER}",  # more than one member
            "Wed, 01 May 2024 25:61:61 GMT",
            "\u00e9t\u00e9",
        ],
    )
    def test_invalid_dates_are_ignored(self, client, resource, since):
        response = client.get("/dated", headers={"If-Modified-Since": since})
        assert response.status_code == 200
        assert resource.calls == ["GET"]

    @pytest.mark.parametrize("method", UNSAFE)
    def test_ignored_for_unsafe_methods(self, client, method):
        response = client.open(
            "/dated", method=method, headers={"If-Modified-Since": AFTER}
        )
        assert response.status_code == 200

    def test_ignored_when_if_none_match_present(self, client):
        headers = {"If-None-Match": '"other"', "If-Modified-Since": AFTER}
        assert client.get("/weak", headers=headers).status_code == 200

    def test_ignored_without_last_modified(self, client, resource):
        resource.modified = None
        response = client.get("/dated", headers={"If-Modified-Since": AFTER})
        assert response.status_code == 200

    def test_aware_datetime_in_other_zone(self, client, resource):
        cest = timezone(timedelta(hours=2))
        resource.modified = datetime(2024, 5, 1, 14, 0, 0, 250000, tzinfo=cest)
        response = client.get("/dated")
        assert response.headers["Last-Modified"] == LAST_MODIFIED
        again = client.get("/dated", headers={"If-Modified-Since": LAST_MODIFIED})
        assert again.status_code == 304


class TestIfUnmodifiedSince:
    """§13.1.4 If-Unmodified-Since: 412 when modified later; invalid ignored."""

    @pytest.mark.parametrize(
        ("since", "status"), [(LAST_MODIFIED, 200), (AFTER, 200), (BEFORE, 412)]
    )
    def test_put(self, client, resource, since, status):
        response = client.put("/dated", headers={"If-Unmodified-Since": since})
        assert response.status_code == status
        assert resource.calls == (["PUT"] if status == 200 else [])

    def test_get_fails_too(self, client):
        response = client.get("/dated", headers={"If-Unmodified-Since": BEFORE})
        assert response.status_code == 412

    @pytest.mark.parametrize("since", ["garbage", f"{BEFORE}, {BEFORE}", ""])
    def test_invalid_dates_are_ignored(self, client, since):
        response = client.put("/dated", headers={"If-Unmodified-Since": since})
        assert response.status_code == 200

    def test_ignored_when_if_match_present(self, client):
        tag = tag_of(client, "/strong")
        headers = {"If-Match": tag, "If-Unmodified-Since": BEFORE}
        assert client.put("/strong", headers=headers).status_code == 200


class TestEvaluationOrder:
    """§13.2.2: the order in which preconditions are evaluated."""

    def test_failed_if_match_beats_matching_if_none_match(self, client):
        tag = tag_of(client, "/strong")
        headers = {"If-Match": '"other"', "If-None-Match": tag}
        assert client.get("/strong", headers=headers).status_code == 412

    def test_failed_if_unmodified_since_beats_if_none_match(self, client):
        tag = tag_of(client, "/strong")
        headers = {"If-Unmodified-Since": BEFORE, "If-None-Match": tag}
        assert client.get("/strong", headers=headers).status_code == 412

    def test_passing_if_match_then_if_none_match(self, client):
        tag = tag_of(client, "/strong")
        headers = {"If-Match": tag, "If-None-Match": tag}
        assert client.get("/strong", headers=headers).status_code == 304

    def test_if_none_match_beats_if_modified_since(self, client):
        headers = {"If-None-Match": '"other"', "If-Modified-Since": AFTER}
        assert client.get("/strong", headers=headers).status_code == 200

    def test_stale_tag_and_current_date_is_200(self, client, resource):
        tag = tag_of(client, "/weak")
        resource.version = 2  # same second: only the tag tells
        headers = {"If-None-Match": tag, "If-Modified-Since": LAST_MODIFIED}
        assert client.get("/weak", headers=headers).status_code == 200

    def test_current_tag_and_old_date_is_304(self, client):
        tag = tag_of(client, "/weak")
        headers = {"If-None-Match": tag, "If-Modified-Since": BEFORE}
        assert client.get("/weak", headers=headers).status_code == 304

    def test_options_ignores_preconditions(self, client, resource):
        headers = {"If-Match": '"nope"', "If-None-Match": "*"}
        response = client.open("/strong", method="OPTIONS", headers=headers)
        assert response.status_code == 200
        assert "ETag" not in response.headers


class TestNonSuccessResponses:
    """§13.2.1: preconditions only apply where the response would be 2xx."""

    def test_404_is_not_turned_into_304(self, app, client):
        from flask import abort

        from flask_condpoll import conditional

        @app.get("/gone")
        @conditional(etag=lambda: None)
        def gone():
            abort(404)

        assert client.get("/gone", headers={"If-None-Match": "*"}).status_code == 404

    def test_redirect_gets_no_validators(self, app, client):
        from flask import redirect

        from flask_condpoll import conditional

        @app.get("/moved")
        @conditional(etag=lambda: 1)
        def moved():
            return redirect("/weak")

        response = client.get("/moved")
        assert response.status_code == 302
        assert "ETag" not in response.headers
        assert "Cache-Control" not in response.headers

    @pytest.mark.parametrize("method", UNSAFE)
    def test_writes_carry_no_validators(self, client, method):
        response = client.open("/strong", method=method)
        assert response.status_code == 200
        assert "ETag" not in response.headers
        assert "Last-Modified" not in response.headers


class TestHead:
    """§9.3.2 HEAD: as GET without a body."""

    def test_same_validators_as_get(self, client):
        get, head = client.get("/weak"), client.head("/weak")
        assert head.status_code == 200
        assert head.data == b""
        for name in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
            assert head.headers[name] == get.headers[name]

    def test_304_on_current_tag(self, client, resource):
        tag = tag_of(client, "/weak")
        assert client.head("/weak", headers={"If-None-Match": tag}).status_code == 304
        assert (
            client.head("/weak", headers={"If-Modified-Since": AFTER}).status_code
            == 304
        )
        assert resource.calls == ["GET"]


class TestNotModifiedResponse:
    """§15.4.5 304: no body; repeats ETag, Cache-Control, Vary, Expires,
    Content-Location."""

    @pytest.fixture
    def declared(self, app, resource):
        from flask_condpoll import conditional

        @app.get("/declared/<int:n>")
        @conditional(
            etag=resource.etag,
            last_modified=resource.last_modified,
            vary=["Accept-Language"],
            cache_control="private, max-age=5",
            expires=timedelta(hours=1),
            content_location=lambda n: f"/declared/{n}.html",
        )
        def declared_view(n):
            resource.calls.append("GET")
            return "declared"

        return "/declared/7"

    def test_repeats_declared_headers(self, client, resource, declared):
        full = client.get(declared)
        short = client.get(declared, headers={"If-None-Match": full.headers["ETag"]})
        assert short.status_code == 304
        assert resource.calls == ["GET"]
        for name in ("ETag", "Cache-Control", "Vary", "Content-Location"):
            assert short.headers[name] == full.headers[name]
        assert full.headers["Content-Location"] == "/declared/7.html"
        assert full.headers["Vary"] == "Accept-Language"
        assert "Expires" in short.headers

    def test_no_body_or_content_headers(self, client, declared):
        full = client.get(declared)
        short = client.get(declared, headers={"If-None-Match": full.headers["ETag"]})
        assert short.data == b""
        assert "Content-Type" not in short.headers
        assert "Content-Length" not in short.headers

    def test_last_modified_only_view_304(self, client):
        full = client.get("/dated")
        assert "ETag" not in full.headers
        short = client.get(
            "/dated", headers={"If-Modified-Since": full.headers["Last-Modified"]}
        )
        assert short.status_code == 304
        assert short.headers["Cache-Control"] == full.headers["Cache-Control"]

    def test_date_header_from_a_real_server(self, app):
        """Over a real connection, the 304 carries Date like the 200 does."""
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/weak")
            full = conn.getresponse()
            full.read()
            conn.request(
                "GET", "/weak", headers={"If-None-Match": full.getheader("ETag")}
            )
            short = conn.getresponse()
            assert short.read() == b""
            assert short.status == 304
            assert short.getheader("Date")
            assert short.getheader("ETag") == full.getheader("ETag")
            conn.close()
        finally:
            server.shutdown()
            thread.join()


class TestProxyRewrittenTags:
    """Tags rewritten by nginx (W/) and Apache (-gzip, -br) match If-None-Match."""

    @pytest.mark.parametrize(
        "rewrite",
        [
            lambda tag: "W/" + tag,
            lambda tag: tag[:-1] + '-gzip"',
            lambda tag: tag[:-1] + '-br"',
            lambda tag: "W/" + tag[:-1] + '-gzip"',
        ],
    )
    def test_strong_view(self, client, rewrite):
        tag = tag_of(client, "/strong")
        response = client.get("/strong", headers={"If-None-Match": rewrite(tag)})
        assert response.status_code == 304

    def test_weak_view_with_suffix(self, client):
        tag = tag_of(client, "/weak")
        response = client.get("/weak", headers={"If-None-Match": tag[:-1] + '-gzip"'})
        assert response.status_code == 304

    def test_other_suffix_does_not_match(self, client):
        tag = tag_of(client, "/strong")
        response = client.get("/strong", headers={"If-None-Match": tag[:-1] + '-zstd"'})
        assert response.status_code == 200

    def test_suffix_does_not_satisfy_if_match(self, client, resource):
        tag = tag_of(client, "/strong")
        response = client.put("/strong", headers={"If-Match": tag[:-1] + '-gzip"'})
        assert response.status_code == 412
        assert resource.calls == ["GET"]


class TestPreconditionRequired:
    """RFC 6585 §3 428: a guarded view refuses unconditional writes."""

    @pytest.mark.parametrize("method", UNSAFE)
    def test_unconditional_write_is_428(self, client, resource, method):
        assert client.open("/guarded", method=method).status_code == 428
        assert resource.calls == []

    @pytest.mark.parametrize("value", ["overwrite", '"a" "b"', '*, "x"', "W/x"])
    def test_a_malformed_if_none_match_is_no_precondition(
        self, client, resource, value
    ):
        """It is ignored, so the write is as unconditional as without it."""
        response = client.put("/guarded", headers={"If-None-Match": value})
        assert response.status_code == 428
        assert resource.calls == []

    def test_if_match_write_passes(self, client):
        tag = tag_of(client, "/guarded")
        assert client.put("/guarded", headers={"If-Match": tag}).status_code == 200

    def test_stale_if_match_is_412(self, client, resource):
        tag = tag_of(client, "/guarded")
        resource.version = 2
        assert client.put("/guarded", headers={"If-Match": tag}).status_code == 412

    def test_reads_are_not_guarded(self, client):
        assert client.get("/guarded").status_code == 200
