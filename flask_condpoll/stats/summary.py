"""What the stored counters mean: ratios, savings and a verdict per endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from .counters import COUNTERS
from .counters import TIME_BOUNDS


@dataclass(frozen=True)
class EndpointStats:
    """The numbers for one endpoint, as the ``stats`` command shows them."""

    endpoint: str
    counts: dict[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.counts[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def ratio(self) -> float | None:
        """304s per GET or HEAD request."""
        reads = self.counts["reads"]
        return self.counts["not_modified"] / reads if reads else None

    @property
    def mean_full_bytes(self) -> float | None:
        """The mean size of a full GET response; ``None`` before the first."""
        sized = self.counts["full_sized"]
        return self.counts["full_bytes"] / sized if sized else None

    @property
    def bytes_saved(self) -> int | None:
        """304s times the mean size of a full response: 0 without 304s,
        ``None`` when there were 304s but no full response was measured (a
        page that renders the fragment itself and whose polls were all 304s),
        since nothing tells what they saved."""
        if not self.counts["not_modified"]:
            return 0
        mean = self.mean_full_bytes
        return None if mean is None else round(self.counts["not_modified"] * mean)

    def mean_ms(self, path: str) -> float | None:
        """Mean milliseconds on the ``"304"`` or ``"full"`` path."""
        count = self.counts["not_modified" if path == "304" else "full"]
        total = self.counts[f"time_{path}_us"]
        return total / count / 1000 if count else None

    def p95_ms(self, path: str) -> float | None:
        """The 95th percentile on a path: the upper bound of its bucket."""
        prefix = "t304" if path == "304" else "tfull"
        buckets = [self.counts[f"{prefix}_{i}"] for i in range(len(TIME_BOUNDS) + 1)]
        total = sum(buckets)
        if not total:
            return None
        running = 0
        for index, count in enumerate(buckets):
            running += count
            if running >= 0.95 * total:
                bound = TIME_BOUNDS[min(index, len(TIME_BOUNDS) - 1)]
                return bound / 1000
        return None  # pragma: no cover

    @property
    def time_saved_ms(self) -> float | None:
        """304s times the difference of the mean times: 0 without 304s,
        ``None`` when there were 304s but no full response was timed."""
        full, short = self.mean_ms("full"), self.mean_ms("304")
        if short is None:
            return 0.0
        if full is None:
            return None
        return self.counts["not_modified"] * max(full - short, 0.0)

    @property
    def verdict_level(self) -> str:
        """The verdict in a word: ``working``, ``mixed``, ``too-often`` or
        ``unknown`` (for styling)."""
        ratio = self.ratio
        if ratio is None or self.counts["reads"] < 20:
            return "unknown"
        if ratio >= 0.7:
            return "working"
        return "too-often" if ratio < 0.3 else "mixed"

    @property
    def verdict(self) -> str:
        """Whether polling with validators pays off here."""
        return _VERDICTS[self.verdict_level]


_VERDICTS = {
    "unknown": "too few requests to tell",
    "working": "working: most polls cost a 304",
    "too-often": "changes too often: consider SSE or a longer interval",
    "mixed": "mixed: check what changes the version",
}


def summarize(totals: dict[str, list[int]]) -> list[EndpointStats]:
    """Turn stored counter vectors into :class:`EndpointStats`, by endpoint."""
    return [
        EndpointStats(endpoint, dict(zip(COUNTERS, counts, strict=True)))
        for endpoint, counts in sorted(totals.items())
    ]


def format_bytes(value: float | None) -> str:
    """``950 B``, ``12.3 kB``, ``1.2 MB``; ``-`` for unknown."""
    if value is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover


def format_duration(ms: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4.2 min``, ``1.5 h``; ``-`` for unknown."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.2g} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
