"""The pure RFC 9110 §13.2.2 evaluation, without Flask."""

from __future__ import annotations

import itertools
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC

import pytest

from flask_condpoll.core.fields import EntityTags
from flask_condpoll.core.fields import INVALID
from flask_condpoll.core.fields import parse_entity_tags
from flask_condpoll.core.preconditions import Conditions
from flask_condpoll.core.preconditions import Current
from flask_condpoll.core.preconditions import evaluate as evaluate_conditions
from flask_condpoll.core.preconditions import http_datetime
from flask_condpoll.core.preconditions import if_match_passes
from flask_condpoll.core.preconditions import if_none_match_matches
from flask_condpoll.core.preconditions import needs_precondition
from flask_condpoll.core.preconditions import Outcome

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
STRONG = Current(exists=True, etag="abc", weak=False, last_modified=T0)
WEAK = Current(exists=True, etag="abc", weak=True, last_modified=T0)
MISSING = Current(exists=False)
UNDATED = Current(exists=True, etag="abc", weak=False)

PROCEED = Outcome.PROCEED
NO_CONTENT = Outcome.NO_CONTENT
NOT_MODIFIED = Outcome.NOT_MODIFIED
FAILED = Outcome.PRECONDITION_FAILED
REQUIRED = Outcome.PRECONDITION_REQUIRED


def parse_etags(value: str) -> EntityTags:
    return parse_entity_tags(value)


def evaluate(
    method: str,
    current: Current,
    *,
    require_precondition: bool = False,
    **fields: object,
) -> Outcome:
    return evaluate_conditions(
        method,
        current,
        Conditions(**fields),  # type: ignore[arg-type]
        require_precondition=require_precondition,
    )


class TestIfMatch:
    @pytest.mark.parametrize(
        ("header", "current", "passes"),
        [
            ('"abc"', STRONG, True),
            ('"x", "abc"', STRONG, True),
            ('"x"', STRONG, False),
            ('W/"abc"', STRONG, False),  # a weak tag never matches strongly
            ('"abc"', WEAK, False),  # nor does a weak current tag
            ("*", STRONG, True),
            ("*", WEAK, True),
            ("*", MISSING, False),
            ('"abc"', MISSING, False),
            ('"abc-gzip"', STRONG, False),  # strong comparison is exact
        ],
    )
    def test_strong_comparison(self, header: str, current: Current, passes: bool):
        assert if_match_passes(current, parse_etags(header)) is passes

    def test_empty_list_fails(self):
        assert not if_match_passes(STRONG, parse_etags(""))

    def test_malformed_fails(self):
        assert not if_match_passes(STRONG, INVALID)

    def test_a_representation_part_of_the_same_state_passes(self):
        """A write changes the resource: the tag of its page or of one of its
        fragments (``state.representation``) both name the same state."""
        fragment = Current(exists=True, etag="abc.frag", weak=False)
        assert if_match_passes(fragment, parse_etags('"abc"'))
        assert if_match_passes(STRONG, parse_etags('"abc.page"'))
        assert not if_match_passes(STRONG, parse_etags('"abd.page"'))
        assert not if_match_passes(STRONG, parse_etags('W/"abc.page"'))


class TestIfNoneMatch:
    @pytest.mark.parametrize(
        ("header", "current", "matches"),
        [
            ('"abc"', STRONG, True),
            ('W/"abc"', STRONG, True),  # weak comparison
            ('"abc"', WEAK, True),
            ('"x", W/"abc"', WEAK, True),
            ('"x"', STRONG, False),
            ("*", STRONG, True),
            ("*", MISSING, False),
            ('"abc"', MISSING, False),
            ('"abc-gzip"', STRONG, True),  # Apache mod_deflate
            ('"abc-br"', STRONG, True),  # Apache mod_brotli
            ('W/"abc-gzip"', WEAK, True),
            ('"abc-deflate"', STRONG, False),
            ('"ab"', STRONG, False),
            ('"abcd"', STRONG, False),
        ],
    )
    def test_weak_comparison(self, header: str, current: Current, matches: bool):
        assert if_none_match_matches(current, parse_etags(header)) is matches


class TestEvaluationOrder:
    def test_no_headers_proceeds(self):
        for method in ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"):
            assert evaluate(method, STRONG) is PROCEED

    @pytest.mark.parametrize("method", ["OPTIONS", "CONNECT", "TRACE"])
    def test_exempt_methods_ignore_preconditions(self, method: str):
        assert (
            evaluate(
                method,
                STRONG,
                if_match=parse_etags('"nope"'),
                if_none_match=parse_etags('"abc"'),
                require_precondition=True,
            )
            is PROCEED
        )

    def test_if_match_failure_wins_over_if_none_match(self):
        outcome = evaluate(
            "GET",
            STRONG,
            if_match=parse_etags('"nope"'),
            if_none_match=parse_etags('"abc"'),
        )
        assert outcome is FAILED

    def test_if_match_true_then_if_none_match(self):
        outcome = evaluate(
            "GET",
            STRONG,
            if_match=parse_etags('"abc"'),
            if_none_match=parse_etags('"abc"'),
        )
        assert outcome is NOT_MODIFIED

    def test_if_match_true_skips_if_unmodified_since(self):
        outcome = evaluate(
            "PUT",
            STRONG,
            if_match=parse_etags('"abc"'),
            if_unmodified_since=T0 - timedelta(days=1),
        )
        assert outcome is PROCEED

    def test_if_unmodified_since_fails_when_modified_later(self):
        outcome = evaluate("PUT", STRONG, if_unmodified_since=T0 - timedelta(seconds=1))
        assert outcome is FAILED

    def test_if_unmodified_since_passes_when_equal(self):
        assert evaluate("PUT", STRONG, if_unmodified_since=T0) is PROCEED

    def test_if_unmodified_since_ignored_without_last_modified(self):
        outcome = evaluate("PUT", UNDATED, if_unmodified_since=T0 - timedelta(days=1))
        assert outcome is PROCEED

    def test_if_unmodified_since_failure_wins_over_if_none_match(self):
        outcome = evaluate(
            "GET",
            STRONG,
            if_unmodified_since=T0 - timedelta(seconds=1),
            if_none_match=parse_etags('"abc"'),
        )
        assert outcome is FAILED

    @pytest.mark.parametrize(
        ("method", "outcome"),
        [("GET", NOT_MODIFIED), ("HEAD", NOT_MODIFIED)]
        + [(m, FAILED) for m in ("POST", "PUT", "PATCH", "DELETE", "PROPFIND")],
    )
    def test_if_none_match_by_method(self, method: str, outcome: Outcome):
        assert evaluate(method, STRONG, if_none_match=parse_etags('"abc"')) is outcome

    def test_if_none_match_present_ignores_if_modified_since(self):
        outcome = evaluate(
            "GET",
            STRONG,
            if_none_match=parse_etags('"other"'),
            if_modified_since=T0 + timedelta(days=1),
        )
        assert outcome is PROCEED

    def test_empty_if_none_match_still_counts_as_present(self):
        outcome = evaluate(
            "GET", STRONG, if_none_match=parse_etags(""), if_modified_since=T0
        )
        assert outcome is PROCEED

    @pytest.mark.parametrize("method", ["GET", "PUT"])
    def test_malformed_if_none_match_matches_nothing(self, method: str):
        assert evaluate(method, STRONG, if_none_match=INVALID) is PROCEED
        outcome = evaluate(method, STRONG, if_none_match=INVALID, if_modified_since=T0)
        assert outcome is PROCEED

    @pytest.mark.parametrize(
        ("since", "outcome"),
        [
            (T0, NOT_MODIFIED),
            (T0 + timedelta(seconds=1), NOT_MODIFIED),
            (T0 - timedelta(seconds=1), PROCEED),
        ],
    )
    def test_if_modified_since(self, since: datetime, outcome: Outcome):
        assert evaluate("GET", STRONG, if_modified_since=since) is outcome

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
    def test_if_modified_since_only_for_get_and_head(self, method: str):
        assert evaluate(method, STRONG, if_modified_since=T0) is PROCEED

    def test_if_modified_since_ignored_without_last_modified(self):
        assert evaluate("GET", UNDATED, if_modified_since=T0) is PROCEED

    def test_if_none_match_star_without_representation_proceeds(self):
        assert evaluate("PUT", MISSING, if_none_match=parse_etags("*")) is PROCEED
        assert evaluate("GET", MISSING, if_none_match=parse_etags("*")) is PROCEED

    def test_if_match_star_without_representation_fails(self):
        assert evaluate("PUT", MISSING, if_match=parse_etags("*")) is FAILED


class TestRequirePrecondition:
    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
    def test_unsafe_without_precondition_is_428(self, method: str):
        assert evaluate(method, STRONG, require_precondition=True) is REQUIRED

    def test_if_none_match_star_is_the_create_only_guard(self):
        """RFC 9110 §13.1.2, RFC 6585 §3: ``If-None-Match: *`` makes a PUT
        conditional: create, never overwrite."""
        star = parse_etags("*")
        assert (
            evaluate("PUT", MISSING, if_none_match=star, require_precondition=True)
            is PROCEED
        )
        assert (
            evaluate("PUT", STRONG, if_none_match=star, require_precondition=True)
            is FAILED
        )

    def test_the_428_decision_needs_no_generator(self):
        assert needs_precondition("PUT", Conditions())
        assert not needs_precondition("PUT", Conditions(if_match=parse_etags("*")))
        assert not needs_precondition("PUT", Conditions(if_none_match=parse_etags("*")))
        assert not needs_precondition("PUT", Conditions(if_unmodified_since=T0))
        assert not needs_precondition("GET", Conditions())
        assert not needs_precondition("OPTIONS", Conditions())

    def test_if_unmodified_since_without_last_modified_is_not_usable(self):
        outcome = evaluate(
            "PUT", UNDATED, if_unmodified_since=T0, require_precondition=True
        )
        assert outcome is REQUIRED

    @pytest.mark.parametrize("value", ["stale", '"a" "b"', "W/", '*, "a"'])
    def test_a_malformed_if_none_match_guards_nothing(self, value: str):
        """An If-None-Match that does not follow the grammar is ignored, so an
        unsafe request carrying only that has no precondition at all."""
        tags = parse_etags(value)
        assert not tags.valid
        outcome = evaluate("PUT", STRONG, if_none_match=tags, require_precondition=True)
        assert outcome is REQUIRED
        assert evaluate("PUT", STRONG, if_none_match=tags) is PROCEED

    def test_if_match_satisfies(self):
        outcome = evaluate(
            "PUT", STRONG, if_match=parse_etags('"abc"'), require_precondition=True
        )
        assert outcome is PROCEED

    def test_if_unmodified_since_satisfies(self):
        outcome = evaluate(
            "PUT", STRONG, if_unmodified_since=T0, require_precondition=True
        )
        assert outcome is PROCEED

    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_safe_methods_are_not_required(self, method: str):
        assert evaluate(method, STRONG, require_precondition=True) is PROCEED


def test_exhaustive_against_a_table():
    """Every combination of headers, for every kind of representation."""
    if_matches = [
        None,
        parse_etags(""),
        INVALID,
        parse_etags("*"),
        parse_etags('"abc"'),
        parse_etags('"x"'),
    ]
    if_none_matches = [
        None,
        INVALID,
        parse_etags("*"),
        parse_etags('W/"abc"'),
        parse_etags('"x"'),
    ]
    ptags = [None, parse_etags('"abc"'), parse_etags('"x"')]
    dates = [None, T0 - timedelta(seconds=1), T0, T0 + timedelta(seconds=1)]
    currents = [STRONG, WEAK, MISSING, UNDATED]
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    seen = set()
    for method, current, im, inm, ims, ius, ptag, required in itertools.product(
        methods,
        currents,
        if_matches,
        if_none_matches,
        dates,
        dates,
        ptags,
        (False, True),
    ):
        outcome = evaluate(
            method,
            current,
            if_match=im,
            if_none_match=inm,
            if_modified_since=ims,
            if_unmodified_since=ius,
            ptag=ptag,
            require_precondition=required,
        )
        expected = _table(method, current, im, inm, ims, ius, ptag, required)
        assert outcome is expected, (method, current, im, inm, ims, ius, ptag)
        seen.add(outcome)
    assert seen == set(Outcome)


def _table(method, current, im, inm, ims, ius, ptag, required):
    """RFC 9110 §13.2.2 as a flat decision list, written independently."""
    if method == "OPTIONS":
        return PROCEED
    safe = method in ("GET", "HEAD")
    lm = current.last_modified
    usable_ius = ius is not None and lm is not None
    no_inm = inm is None or not inm.valid  # a malformed one is ignored
    if required and not safe and im is None and no_inm and not usable_ius:
        return REQUIRED
    if im is not None:
        star = im.star
        strong_tags = {tag for weak, tag in im.tags if not weak}
        listed = current.etag in strong_tags and not current.weak
        if not ((star and current.exists) or (not star and listed)):
            return FAILED
    elif usable_ius and lm > ius:
        return FAILED
    if inm is not None:
        hit = (inm.star and current.exists) or (
            current.etag is not None and current.etag in {t for _, t in inm.tags}
        )
        if hit:
            return NOT_MODIFIED if safe else FAILED
        return PROCEED
    unchanged = ims is not None and lm is not None and lm <= ims
    if safe and ptag is not None:
        if current.etag in {t for _, t in ptag.tags}:
            return NOT_MODIFIED if unchanged else NO_CONTENT
        return PROCEED
    if safe and unchanged:
        return NOT_MODIFIED
    return PROCEED


class TestHttpDatetime:
    def test_naive_means_utc_and_drops_subseconds(self):
        assert http_datetime(datetime(2024, 5, 1, 12, 0, 0, 999999)) == T0

    def test_aware_converts(self):
        cest = timezone(timedelta(hours=2))
        assert http_datetime(datetime(2024, 5, 1, 14, 0, 0, 500, tzinfo=cest)) == T0


class TestPTag:
    """htmx 4's HX-PTag: for GET and HEAD without If-None-Match, a match is
    204 (never a 304 to a request a cache did not make conditional)."""

    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_matching_ptag_is_204(self, method):
        assert evaluate(method, WEAK, ptag=parse_etags('W/"abc"')) is NO_CONTENT

    def test_matching_ptag_and_if_modified_since_is_304(self):
        outcome = evaluate("GET", WEAK, ptag=parse_etags('"abc"'), if_modified_since=T0)
        assert outcome is NOT_MODIFIED

    def test_malformed_ptag_is_ignored(self):
        assert evaluate("GET", WEAK, ptag=INVALID, if_modified_since=T0) is NOT_MODIFIED

    def test_stale_ptag_proceeds(self):
        assert evaluate("GET", WEAK, ptag=parse_etags('W/"old"')) is PROCEED

    def test_ptag_disables_if_modified_since(self):
        outcome = evaluate(
            "GET", STRONG, ptag=parse_etags('"old"'), if_modified_since=T0
        )
        assert outcome is PROCEED

    def test_a_stale_if_none_match_wins_over_a_matching_ptag(self):
        """The standard field decides (§13.2.2); HX-PTag is our extension."""
        outcome = evaluate(
            "GET", STRONG, if_none_match=parse_etags('"old"'), ptag=parse_etags('"abc"')
        )
        assert outcome is PROCEED

    @pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
    def test_writes_ignore_it(self, method):
        assert evaluate(method, STRONG, ptag=parse_etags('"abc"')) is PROCEED

    def test_if_match_still_comes_first(self):
        outcome = evaluate(
            "GET", STRONG, if_match=parse_etags('"x"'), ptag=parse_etags('"abc"')
        )
        assert outcome is FAILED
