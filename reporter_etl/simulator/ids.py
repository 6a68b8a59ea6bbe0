"""Identifiers and time stamps: derived from integers on demand, never stored as strings.

A row's API id (questionId, the uuid part of sessionId, a chat-widget client id) comes from a 60-bit
bijection of a small integer key (tag, day, index within the day) salted by the seed, laid out as a
version-4 UUID whose remaining bits are a keyed hash of the first 60.  So ids look random, are unique, sort
(as strings) in the order of the 60-bit value, and can be decoded back to the key without any lookup table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

MASK60 = (1 << 60) - 1
MASK64 = (1 << 64) - 1
_C1, _C2, _C3 = 0x5DEECE66D1B3F9D, 0x2545F4914F6CDD1D & MASK60 | 1, 0x9E3779B97F4A7C1 | 1
_S1, _S2, _S3 = 29, 32, 29

TAG_SESSION = 1
TAG_MESSAGE = 2
TAG_CLIENT = 3
TAG_FILTER_SET = 4
DAY_SHIFT = 28  # key = tag << 56 | day_ordinal << 28 | index within the day


def make_key(tag: int, day_ordinal: int, local: int) -> int:
    return (tag << 56) | (day_ordinal << DAY_SHIFT) | local


def split_key(key: int) -> tuple[int, int, int]:
    return key >> 56, (key >> DAY_SHIFT) & ((1 << 28) - 1), key & ((1 << DAY_SHIFT) - 1)


def seed_salt(seed: int) -> int:
    return splitmix64(seed * 0x632BE59BD9B4E019 + 0x1234567) & MASK60


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def splitmix64_np(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def mix60_np(keys: np.ndarray, salt: int) -> np.ndarray:
    """The 60-bit bijection, vectorised (uint64 arithmetic wraps, the mask keeps it mod 2**60)."""
    m = np.uint64(MASK60)
    x = (np.asarray(keys, dtype=np.uint64) ^ np.uint64(salt)) & m
    x = (x * np.uint64(_C1)) & m
    x ^= x >> np.uint64(_S1)
    x = (x * np.uint64(_C2)) & m
    x ^= x >> np.uint64(_S2)
    x = (x * np.uint64(_C3)) & m
    x ^= x >> np.uint64(_S3)
    return x


def mix60(key: int, salt: int) -> int:
    x = (key ^ salt) & MASK60
    x = (x * _C1) & MASK60
    x ^= x >> _S1
    x = (x * _C2) & MASK60
    x ^= x >> _S2
    x = (x * _C3) & MASK60
    x ^= x >> _S3
    return x


def _unxorshift(x: int, s: int) -> int:
    y = x
    for _ in range(60 // s + 1):
        y = x ^ (y >> s)
    return y


_I1, _I2, _I3 = (pow(c, -1, 1 << 60) for c in (_C1, _C2, _C3))


def unmix60(x: int, salt: int) -> int:
    x = _unxorshift(x, _S3)
    x = (x * _I3) & MASK60
    x = _unxorshift(x, _S2)
    x = (x * _I2) & MASK60
    x = _unxorshift(x, _S1)
    x = (x * _I1) & MASK60
    return x ^ salt


def uuid_from_mix(v: int) -> str:
    h = splitmix64(v)
    return (
        f"{v >> 28:08x}-{(v >> 12) & 0xFFFF:04x}-4{v & 0xFFF:03x}-"
        f"{0x8000 | ((h >> 48) & 0x3FFF):04x}-{h & 0xFFFFFFFFFFFF:012x}"
    )


def uuids_from_mix(values: np.ndarray) -> list[str]:
    """`uuid_from_mix` for many values at once (same strings, a fraction of the time)."""
    v = np.asarray(values, dtype=np.uint64)
    h = splitmix64_np(v)
    a = (v >> np.uint64(28)).tolist()
    b = ((v >> np.uint64(12)) & np.uint64(0xFFFF)).tolist()
    c = (v & np.uint64(0xFFF)).tolist()
    d = (np.uint64(0x8000) | ((h >> np.uint64(48)) & np.uint64(0x3FFF))).tolist()
    e = (h & np.uint64(0xFFFFFFFFFFFF)).tolist()
    return [f"{p:08x}-{q:04x}-4{r:03x}-{s:04x}-{t:012x}" for p, q, r, s, t in zip(a, b, c, d, e, strict=True)]


_UUID = re.compile(r"^([0-9a-f]{8})-([0-9a-f]{4})-4([0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$")


def mix_from_uuid(text: str) -> int | None:
    """The 60-bit value behind a UUID made by `uuid_from_mix`, or None when the text is not one of ours."""
    m = _UUID.match(text)
    if not m:
        return None
    v = (int(m.group(1), 16) << 28) | (int(m.group(2), 16) << 12) | int(m.group(3), 16)
    return v if uuid_from_mix(v) == text else None


# --- time ---------------------------------------------------------------------------------------------------

_DT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$"
)


def parse_datetime_ms(text: str) -> int | None:
    """Epoch milliseconds of `yyyy-MM-ddTHH:mm:ss.SSSZ` (also without millis or with a numeric offset).

    Returns None when the text is not such a time stamp; digits beyond milliseconds are truncated.
    """
    if not isinstance(text, str):
        return None
    m = _DT.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = (m.group(7) or "").ljust(3, "0")[:3]
    tz = m.group(8)
    if tz in ("Z", "z"):
        offset_min = 0
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset_min = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp()) * 1000 + int(frac) - offset_min * 60_000


def format_ms(ms: int) -> str:
    return format_ms_many(np.array([ms], dtype=np.int64))[0]


def format_ms_many(ms: np.ndarray) -> list[str]:
    """`yyyy-MM-ddTHH:mm:ss.SSSZ` strings for epoch milliseconds, vectorised."""
    text = np.datetime_as_string(np.asarray(ms, dtype=np.int64).astype("datetime64[ms]"), unit="ms")
    return [t + "Z" for t in text.tolist()]


def ms_of(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(round(dt.timestamp() * 1000))


def datetime_of(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def mixn_np(x: np.ndarray, bits: int, salt: int) -> np.ndarray:
    """A bijection on `bits`-bit integers (numeric client ids and phone numbers that must stay unique)."""
    mask = np.uint64((1 << bits) - 1)
    half = np.uint64(bits // 2)
    v = (np.asarray(x, dtype=np.uint64) ^ np.uint64(salt & ((1 << bits) - 1))) & mask
    v = (v * np.uint64(0x7FEB352D)) & mask
    v ^= v >> half
    v = (v * np.uint64(0x846CA68B)) & mask
    v ^= v >> half
    return v
