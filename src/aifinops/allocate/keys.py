"""Tag keys across clouds: one normalised spelling (plain Python; no engine needed).

Two keys are the same key when their normalised forms are equal: ASCII letters case-folded
and the separators ``-``, ``_`` and space removed (which also trims). A key further matches
with an AWS ``user`` / ``user:`` in front, so ``user:Team`` and ``user_team`` are ``team``.
"""

from __future__ import annotations

import string

#: Characters a key may use interchangeably, or leave out: hyphen, underscore, space.
SEPARATORS = "-_ "
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_key(key: str) -> str:
    """Return a tag key's normalised form: ASCII lower case, without ``-``, ``_`` or spaces.

    >>> normalise_key(" Owner-Team")
    'ownerteam'
    """
    return "".join(ch for ch in key if ch not in SEPARATORS).translate(_LOWER)


def keys_match(key: str, wanted: str) -> bool:
    """Tell whether tag key ``key`` is the key ``wanted`` (also behind ``user`` / ``user:``).

    This is the definition the regular expressions of :mod:`aifinops.allocate.aliases`
    implement; tests hold them to it.
    """
    norm, target = normalise_key(key), normalise_key(wanted)
    return norm in (target, f"user{target}", f"user:{target}")
