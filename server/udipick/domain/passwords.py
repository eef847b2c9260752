"""What a password must be before udipick stores it (sign-in and 21 CFR Part 11 §11.200 e-signatures).

Pure: the strength estimate (zxcvbn in production, ``services.identity.zxcvbn_strength``) is passed
in, so the rules are a table of cases with no database and no dictionary.

The policy, as the README states it:

- at least ``MIN_LENGTH`` characters, ``MIN_LENGTH_ADMIN`` for an administrator (an admin can add
  users, revoke ERP keys and deactivate people, so a guessed admin password costs more);
- at most ``MAX_LENGTH`` (the sign-in request refuses longer ones, so such a password could never be used);
- not blank or only whitespace;
- not containing the user name (case-insensitive; names of 3 characters or more: a 1-2 letter name
  such as ``qa`` is found inside ordinary words, and the estimate below still knows the name);
- an estimated strength of at least ``MIN_SCORE`` on zxcvbn's 0-4 scale, with the user name and
  display name (whole and word by word) counted as words an attacker knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from udipick.domain.errors import WeakPassword

MIN_LENGTH = 10
MIN_LENGTH_ADMIN = 12
MAX_LENGTH = 256
MIN_SCORE = 3
#: zxcvbn refuses longer input; a passphrase this long is judged by its first 72 characters
ESTIMATE_MAX_CHARS = 72


@dataclass(frozen=True, slots=True)
class Strength:
    """An estimate of how hard a password is to guess: ``score`` 0 (trivial) to 4, and the estimator's advice."""

    score: int
    warning: str = ""
    suggestions: tuple[str, ...] = ()


#: (password, words the attacker knows) -> estimate
Estimator = Callable[[str, Sequence[str]], Strength]


def min_length(roles: Sequence[str]) -> int:
    return MIN_LENGTH_ADMIN if "admin" in roles else MIN_LENGTH


def known_words(username: str, display_name: str | None) -> list[str]:
    """The names, whole and word by word (``Lin Wei`` -> ``lin``, ``wei``): the estimator matches whole words."""
    names = [n for n in (username, display_name) if n]
    words = [w for n in names for w in re.split(r"[\W_]+", n.lower()) if len(w) >= 3]
    return list(dict.fromkeys([*names, *words]))


def check_password(
    password: str, *, username: str, display_name: str | None, roles: Sequence[str], estimate: Estimator
) -> None:
    """Refuse a password that breaks the policy, naming every rule it breaks and the estimator's advice."""
    reasons: list[str] = []
    needed = min_length(roles)
    if not password.strip():
        reasons.append("the password is blank")
    elif len(password) < needed:
        reasons.append(f"the password has {len(password)} characters; it needs at least {needed}")
    if len(password) > MAX_LENGTH:
        reasons.append(f"the password has {len(password)} characters; at most {MAX_LENGTH} can be used to sign in")
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        reasons.append("the password contains the user name")
    warning = ""
    suggestions: tuple[str, ...] = ()
    if password.strip() and len(password) <= MAX_LENGTH:
        known = known_words(username, display_name)
        strength = estimate(password[:ESTIMATE_MAX_CHARS], known)
        if strength.score < MIN_SCORE:
            reasons.append(f"the password is too easy to guess (strength {strength.score} of 4; it needs {MIN_SCORE})")
            warning, suggestions = strength.warning, strength.suggestions
    if reasons:
        raise WeakPassword(
            "password refused: " + "; ".join(reasons),
            pointer="/password",
            reasons=reasons,
            minLength=needed,
            warning=warning,
            suggestions=list(suggestions),
        )
