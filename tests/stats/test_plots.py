"""The stats page's SVG plots, as pure functions of the numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from flask_condpoll.stats.plots import AMBER
from flask_condpoll.stats.plots import clock
from flask_condpoll.stats.plots import cumulative_area
from flask_condpoll.stats.plots import GREEN
from flask_condpoll.stats.plots import ratio_bars
from flask_condpoll.stats.plots import ratio_color
from flask_condpoll.stats.plots import RED
from flask_condpoll.stats.summary import format_bytes

SVG = "{http://www.w3.org/2000/svg}"
START = 1_700_000_040  # 22:14 UTC


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def test_ratio_colors():
    assert [ratio_color(r) for r in (1.0, 0.7, 0.69, 0.3, 0.29, 0.0)] == [
        GREEN, GREEN, AMBER, AMBER, RED, RED,
    ]  # fmt: skip


def test_ratio_bars():
    points = [
        (START, 10, 10),
        (START + 60, 0, 0),  # nothing read: a gap, not a 0% bar
        (START + 120, 4, 1),
        (START + 180, 5, 0),
    ]
    svg = parse(ratio_bars(points, 60))
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == "0 0 360 110"
    bars = svg.findall(f"{SVG}rect")
    assert [bar.get("data-bucket") for bar in bars] == [
        str(START),
        str(START + 120),
        str(START + 180),
    ]
    assert [bar.get("data-ratio") for bar in bars] == ["1.000", "0.250", "0.000"]
    assert [bar.get("fill") for bar in bars] == [GREEN, RED, RED]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[0] == 86  # the whole plot
    assert heights[2] == 1.5  # 0% still shows
    xs = [float(bar.get("x")) for bar in bars]
    assert xs[1] - xs[0] == 2 * (xs[2] - xs[1])  # the empty bucket keeps its place
    assert bars[1].find(f"{SVG}title").text == (
        "22:16 UTC: 25% of 4 reads answered without the view"
    )
    labels = [text.text for text in svg.findall(f"{SVG}text")]
    assert labels == ["100%", "70%", "30%", "0%", "22:14", "22:18 UTC"]


def test_no_points():
    svg = parse(ratio_bars([], 60))
    assert svg.findall(f"{SVG}rect") == []


def test_cumulative_area():
    points = [(START, 1000.0), (START + 60, 0.0), (START + 120, 2500.0)]
    svg = parse(
        cumulative_area(points, 60, label="saved", formatted=format_bytes, color="#123")
    )
    total = svg.find(f"{SVG}text[@class='total']")
    assert total.text == "3.5 kB saved"
    assert total.get("data-total") == "3500.000"
    line = svg.find(f"{SVG}polyline").get("points").split()
    heights = [float(point.split(",")[1]) for point in line]
    assert heights[0] > heights[2]  # rising: y grows downwards
    assert heights[0] == heights[1]  # nothing saved in the second bucket
    assert svg.find(f"{SVG}polygon").get("fill") == "#123"


def test_a_flat_zero_area():
    svg = parse(cumulative_area([(START, 0.0)], 60, label="saved", formatted=str))
    assert svg.find(f"{SVG}text[@class='total']").text == "0.0 saved"


def test_text_is_escaped():
    markup = str(
        cumulative_area([(START, 1.0)], 60, label="<b>", formatted=lambda v: "&")
    )
    assert "<b>" not in markup
    assert re.search(r"&amp; &lt;b&gt;", markup)


def test_clock():
    assert clock(START) == "22:14"
