"""Plots for the stats page, as server-rendered SVG: pure functions of the
numbers, no Flask and no script.

Every element carries its numbers in ``data-`` attributes and a ``<title>``
(a tooltip), so the plots read the same to people, screen readers and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Sequence

from markupsafe import Markup

#: The verdict thresholds on the 304 ratio (the htmx guide's rule of thumb).
WORKING, TOO_OFTEN = 0.7, 0.3
GREEN, AMBER, RED, BLUE, GREY = "#2e7d32", "#b26a00", "#c62828", "#3567b5", "#9e9e9e"

_WIDTH, _HEIGHT = 360, 110
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 6, 6, 18


def ratio_color(ratio: float) -> str:
    """Green from 70% 304s, red below 30%, amber between."""
    if ratio >= WORKING:
        return GREEN
    return RED if ratio < TOO_OFTEN else AMBER


def clock(timestamp: int) -> str:
    """``HH:MM`` in UTC."""
    return time.strftime("%H:%M", time.gmtime(timestamp))


def _frame(label: str, css: str, body: Markup, width: int = _WIDTH) -> Markup:
    return Markup(
        '<svg class="condpoll-plot {css}" viewBox="0 0 {width} {height}"'
        ' role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        "{body}</svg>"
    ).format(css=css, width=width, height=_HEIGHT, label=label, body=body)


def _time_axis(start: int, end: int, width: int) -> Markup:
    y = _HEIGHT - 4
    return Markup(
        '<text class="axis" x="{left}" y="{y}">{start}</text>'
        '<text class="axis" x="{right}" y="{y}" text-anchor="end">{end} UTC</text>'
    ).format(left=_LEFT, right=width - _RIGHT, y=y, start=clock(start), end=clock(end))


def ratio_bars(points: Sequence[tuple[int, int, int]], bucket_seconds: int) -> Markup:
    """Bars of the share of 304s per time bucket.

    :param points: ``(bucket start, reads, 304s)`` for every bucket in
        order, empty ones included (they show as gaps).
    :param bucket_seconds: the width of a bucket.
    """
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    parts = []
    for share in (1.0, WORKING, TOO_OFTEN, 0.0):
        y = round(_TOP + plot_h * (1 - share), 1)
        dash = Markup(' stroke-dasharray="3 3"') if 0 < share < 1 else Markup("")
        parts.append(
            Markup(
                '<line class="guide" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"'
                ' stroke="#ccc"{dash}/><text class="axis" x="{tx}" y="{ty}"'
                ' text-anchor="end">{label}</text>'
            ).format(
                x1=_LEFT,
                x2=_WIDTH - _RIGHT,
                y=y,
                dash=dash,
                tx=_LEFT - 4,
                ty=round(y + 3, 1),
                label=f"{share:.0%}",
            )
        )
    step = plot_w / max(len(points), 1)
    gap = 1 if step > 3 else 0
    for index, (start, reads, not_modified) in enumerate(points):
        if not reads:
            continue
        ratio = not_modified / reads
        height = max(plot_h * ratio, 1.5)  # a 0% bucket still shows
        parts.append(
            Markup(
                '<rect class="bar" data-bucket="{start}" data-reads="{reads}"'
                ' data-ratio="{ratio:.3f}" x="{x}" y="{y}" width="{w}"'
                ' height="{h}" fill="{fill}"><title>{title}</title></rect>'
            ).format(
                start=start,
                reads=reads,
                ratio=ratio,
                x=round(_LEFT + index * step, 2),
                y=round(_TOP + plot_h - height, 2),
                w=round(max(step - gap, 0.5), 2),
                h=round(height, 2),
                fill=ratio_color(ratio),
                title=f"{clock(start)} UTC: {ratio:.0%} of {reads} reads"
                f" answered without the view",
            )
        )
    if points:
        parts.append(_time_axis(points[0][0], points[-1][0] + bucket_seconds, _WIDTH))
    return _frame("Share of 304s per time bucket", "ratio", Markup("").join(parts))


def cumulative_area(
    points: Sequence[tuple[int, float]],
    bucket_seconds: int,
    *,
    label: str,
    formatted: Callable[[float], str],
    color: str = BLUE,
) -> Markup:
    """An area of a running total over time, labelled with where it ends.

    :param points: ``(bucket start, amount in that bucket)`` for every
        bucket in order.
    :param label: what the total is, after its value (``"saved"``).
    :param formatted: turns an amount into text (``12.3 kB``).
    """
    width = _WIDTH // 2
    plot_w, plot_h = width - 8 - _RIGHT, _HEIGHT - _TOP - _BOTTOM - 14
    base = _TOP + 14 + plot_h
    totals, running = [], 0.0
    for _, amount in points:
        running += amount
        totals.append(running)
    top = max(running, 1e-9)
    step = plot_w / max(len(points) - 1, 1)
    coordinates = [
        (round(8 + index * step, 2), round(base - plot_h * total / top, 2))
        for index, total in enumerate(totals)
    ]
    line = " ".join(f"{x},{y}" for x, y in coordinates)
    parts = [
        Markup(
            '<text class="total" x="8" y="{y}" data-total="{total:.3f}">{text}</text>'
            '<line class="guide" x1="8" y1="{base}" x2="{x2}" y2="{base}"'
            ' stroke="#ccc"/>'
        ).format(
            y=_TOP + 10,
            total=running,
            text=f"{formatted(running)} {label}",
            base=base,
            x2=width - _RIGHT,
        )
    ]
    if coordinates:
        first, last = coordinates[0][0], coordinates[-1][0]
        parts.append(
            Markup(
                '<polygon class="area" points="{first},{base} {line} {last},{base}"'
                ' fill="{color}" fill-opacity="0.18"/>'
                '<polyline class="line" points="{line}" fill="none"'
                ' stroke="{color}" stroke-width="1.5"/>'
            ).format(first=first, base=base, line=line, last=last, color=color)
        )
        y = _HEIGHT - 4
        parts.append(
            Markup(
                '<text class="axis" x="8" y="{y}">{start}</text>'
                '<text class="axis" x="{right}" y="{y}" text-anchor="end">{end}</text>'
            ).format(
                y=y,
                right=width - _RIGHT,
                start=clock(points[0][0]),
                end=clock(points[-1][0] + bucket_seconds),
            )
        )
    body = Markup("").join(parts)
    return _frame(f"{label.capitalize()} over time", "cumulative", body, width)
