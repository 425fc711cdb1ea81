"""Postback data: a short query string the bot writes and reads back, never trusted blindly."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

MAX_POSTBACK_DATA = 300  # LINE's limit


class PostbackTooLong(ValueError):
    pass


@dataclass(frozen=True)
class Postback:
    action: str
    params: dict[str, str] = field(default_factory=dict)


def encode(action: str, **params: str | int) -> str:
    data = urlencode({"a": action, **{k: str(v) for k, v in params.items()}})
    if len(data) > MAX_POSTBACK_DATA:
        raise PostbackTooLong(f"postback data for {action!r} is {len(data)} characters")
    return data


MAX_ROW_ID = 2**31 - 1  # an integer id column holds no larger number


def row_id(pb: Postback, key: str = "i") -> int | None:
    """A table row id the bot wrote into a button, or None when it cannot be one (forged or garbled:
    a number beyond the column's range would make the database driver fail, not just miss)."""
    raw = pb.params.get(key, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ROW_ID else None


def decode(data: object) -> Postback:
    """Anything that is not our own format decodes to an empty action (ignored politely)."""
    if not isinstance(data, str) or len(data) > MAX_POSTBACK_DATA:
        return Postback("")
    try:
        pairs = dict(parse_qsl(data, keep_blank_values=True, strict_parsing=True, max_num_fields=20))
    except ValueError:
        return Postback("")
    action = pairs.pop("a", "")
    return Postback(action, pairs)
