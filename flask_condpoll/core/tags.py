"""Opaque, keyed entity tags built from a canonical encoding of values.

Nothing in this module knows about Flask. A tag is a keyed BLAKE2b digest, so
it reveals nothing about the values behind it, and the encoding is canonical,
so every process and host with the same key computes the same tag.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import typing as t
import uuid
from binascii import b2a_base64
from collections.abc import Mapping
from collections.abc import Sequence

#: Length in bytes of the digest behind a tag (22 characters on the wire).
DIGEST_SIZE = 16

#: Length in bytes of a tag's representation part (11 characters).
REPRESENTATION_SIZE = 8

_UTC = datetime.UTC

#: Standard base64 to its URL-safe alphabet (RFC 4648 §5).
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


class UnsupportedValue(TypeError):
    """A generator or mixin returned a value that cannot go into a tag.

    A programming error: in debug and testing mode it propagates.
    """


def derive_key(secret: str | bytes) -> bytes:
    """Derive the 32-byte hashing key for tags from an application secret.

    :param secret: ``SECRET_KEY`` or ``CONDPOLL_SECRET_KEY``.
    """
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return hashlib.blake2b(secret, digest_size=32, person=b"condpoll-etag").digest()


def encode(value: object) -> bytes:
    """Encode a value canonically: equal values give equal bytes everywhere.

    Supported: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``,
    :class:`~decimal.Decimal`, :class:`~uuid.UUID`, :class:`~enum.Enum`,
    :class:`~datetime.datetime` (naive means UTC), :class:`~datetime.date`,
    :class:`~datetime.time`, and tuples (named or not), lists, other sequences
    such as SQLAlchemy's ``Row``, dicts and other mappings, sets and frozensets
    of those. Each value is tagged with its type, so ``1`` and ``"1"`` differ;
    every sequence encodes like a list of its items.

    :raises UnsupportedValue: for any other type, naming it.
    """
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: object, out: list[bytes]) -> None:
    # Exact type checks first: they are the common, fast case.
    kind = type(value)
    if kind is int:
        out.append(b"i%d;" % t.cast(int, value))
    elif kind is str:
        data = t.cast(str, value).encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data))
        out.append(data)
    elif kind is tuple or kind is list:
        out.append(b"l%d:" % len(value))  # type: ignore[arg-type]
        _encode_items(value, out)  # type: ignore[arg-type]
    elif value is None:
        out.append(b"n")
    elif value is True:
        out.append(b"t")
    elif value is False:
        out.append(b"f")
    elif isinstance(value, enum.Enum):
        out.append(b"e")
        _encode(value.value, out)
    elif isinstance(value, int):
        out.append(b"i%d;" % int(value))
    elif isinstance(value, str):
        _encode(str(value), out)
    elif isinstance(value, float):
        out.append(b"r" + value.hex().encode("ascii") + b";")
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        out.append(b"b%d:" % len(data))
        out.append(data)
    elif isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        out.append(b"d" + value.astimezone(_UTC).isoformat().encode("ascii") + b";")
    elif isinstance(value, datetime.date):
        out.append(b"D" + value.isoformat().encode("ascii") + b";")
    elif isinstance(value, datetime.time):
        out.append(b"T" + value.isoformat().encode("ascii") + b";")
    elif isinstance(value, decimal.Decimal):
        out.append(b"m" + str(value.normalize()).encode("ascii") + b";")
    elif isinstance(value, uuid.UUID):
        out.append(b"u" + value.bytes)
    elif isinstance(value, Sequence):
        out.append(b"l%d:" % len(value))
        for item in value:
            _encode(item, out)
    elif isinstance(value, Mapping):
        pairs = sorted((encode(k), encode(v)) for k, v in value.items())
        out.append(b"M%d:" % len(pairs))
        for key, item in pairs:
            out.append(key)
            out.append(item)
    elif isinstance(value, set | frozenset):
        items = sorted(encode(item) for item in value)
        out.append(b"S%d:" % len(items))
        out.extend(items)
    else:
        raise UnsupportedValue(
            f"Cannot use a {type(value).__name__!r} value in an ETag: {value!r}."
            " Return a str, int, float, bytes, Decimal, UUID, date, datetime, or"
            " a tuple, list, dict or set of those."
        )


def _encode_items(items: Sequence[t.Any], out: list[bytes]) -> None:
    """Encode each of ``items``: ints and strs (most of them) without a call."""
    for item in items:
        kind = type(item)
        if kind is int:
            out.append(b"i%d;" % item)
        elif kind is str:
            data = item.encode("utf-8", "surrogatepass")
            out.append(b"s%d:%s" % (len(data), data))
        elif kind is tuple or kind is list:
            out.append(b"l%d:" % len(item))
            _encode_items(item, out)
        else:
            _encode(item, out)


#: Separates a tag's resource part from its representation part.
SEPARATOR = "."


def resource_part(opaque: str) -> str:
    """The part of a tag that names the resource's state (see :meth:`TagMaker.make`)."""
    return opaque.partition(SEPARATOR)[0]


class TagMaker:
    """Build opaque tags with a fixed key.

    :param key: the hashing key, usually from :func:`derive_key`.
    """

    __slots__ = ("_base", "_representation")

    def __init__(self, key: bytes) -> None:
        self._base = hashlib.blake2b(key=key, digest_size=DIGEST_SIZE)
        self._representation = hashlib.blake2b(
            key=key, digest_size=REPRESENTATION_SIZE, person=b"representation"
        )

    def make(self, *parts: object, representation: tuple[object, ...] = ()) -> str:
        """Return the tag (without quotes) for the given parts, in order.

        :param representation: values that select one representation of the
            same resource state (the ``Vary`` headers). When any is not
            ``None``, a second, shorter digest of them follows a ``.``: the
            part before it (see :func:`resource_part`) still names the state,
            which is what If-Match compares.
        """
        tag = _digest(self._base, parts)
        if representation.count(None) != len(representation):
            tag += SEPARATOR + _digest(self._representation, representation)
        return tag


def _digest(base: t.Any, parts: tuple[object, ...]) -> str:
    out: list[bytes] = []
    _encode_items(parts, out)
    digest = base.copy()
    digest.update(b"".join(out))
    encoded = b2a_base64(digest.digest(), newline=False).translate(_URL_SAFE)
    return encoded.rstrip(b"=").decode("ascii")
