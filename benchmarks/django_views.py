"""The Django scenarios: model, views and URLs (imported once Django is set up).

The model maps the Flask app's ``notification`` table, unmanaged.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Count
from django.db.models import Func
from django.db.models import Max
from django.db.models import Sum
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import HttpResponseNotModified
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import condition


class Notification(models.Model):
    user_id = models.IntegerField()
    text = models.TextField()
    read = models.BooleanField()
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "notification"


class TimestampChecksum(Func):
    """condpoll's ``timestamp_checksum`` on SQLite (3.38+): microseconds since
    1970 of the stored text, modulo 2**31 - 1."""

    template = (
        "((unixepoch(%(expressions)s) * 1000000"
        " + CAST(substr(%(expressions)s, 21, 6) AS INTEGER)) %%%% 2147483647)"
    )
    output_field = models.BigIntegerField()


def newest(user_id: int) -> models.QuerySet[Notification]:
    return Notification.objects.filter(user_id=user_id).order_by("-id")[:50]


def version(request: HttpRequest, user_id: int) -> str:
    """condpoll's "composite" aggregates over the same 50 rows, in one query.

    Django aggregates a sliced queryset over a subquery, as condpoll's
    build_aggregate does, and the SQL matches but for two details: LIMIT 50
    is inlined where SQLAlchemy binds LIMIT ? OFFSET ?, and the checksum is
    written for SQLite only (condpoll compiles it per dialect). The tag is
    the joined values, not condpoll's keyed hash.
    """
    row = newest(user_id).aggregate(
        count=Count("*"),
        max_id=Max("id"),
        sum_id=Sum("id"),
        max_ts=Max("updated_at"),
        sum_ts=Sum(TimestampChecksum("updated_at")),
    )
    return "-".join(str(value) for value in row.values())


def full(request: HttpRequest, user_id: int) -> HttpResponse:
    """JA: full render, no validators."""
    notes = list(newest(user_id))
    context = {"notes": notes, "user_id": user_id}
    return render(request, "notifications.html", context)


@condition(etag_func=version)
def conditional(request: HttpRequest, user_id: int) -> HttpResponse:
    """J304: @condition with the aggregate version."""
    return full(request, user_id)


def floor(request: HttpRequest) -> HttpResponse:
    """JD: the floor, an empty 304."""
    return HttpResponseNotModified()


urlpatterns = [
    path("a/<int:user_id>", full),
    path("e/<int:user_id>", conditional),
    path("d", floor),
]
