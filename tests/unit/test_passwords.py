"""The password policy as a table: length (10, 12 for admin), blank, the user name inside, and strength.

The rules are checked with a fixed estimate so each row tests one rule; the last table runs the real
zxcvbn estimator (pure, no database) on the passwords the security review found accepted.
"""

from __future__ import annotations

import pytest

from udipick.domain.errors import WeakPassword
from udipick.domain.passwords import MAX_LENGTH, MIN_LENGTH, MIN_LENGTH_ADMIN, Strength, check_password
from udipick.services.identity import zxcvbn_strength


def strong(_password, _known) -> Strength:
    return Strength(4)


def weak(_password, _known) -> Strength:
    return Strength(1, "This is a very common password.", ("Add another word or two.",))


@pytest.mark.parametrize(
    ("password", "username", "roles", "estimate", "reasons"),
    [
        ("violet-harbour-9", "lin.wei", ["picker"], strong, []),
        ("x" * MIN_LENGTH, "lin.wei", ["picker"], strong, []),
        (
            "x" * (MIN_LENGTH - 1),
            "lin.wei",
            ["picker"],
            strong,
            ["the password has 9 characters; it needs at least 10"],
        ),
        ("x" * MIN_LENGTH, "root", ["admin"], strong, ["the password has 10 characters; it needs at least 12"]),
        ("x" * MIN_LENGTH_ADMIN, "root", ["qa", "admin"], strong, []),
        ("            ", "lin.wei", ["picker"], strong, ["the password is blank"]),
        ("\t \n", "lin.wei", ["picker"], strong, ["the password is blank"]),
        ("", "lin.wei", ["picker"], strong, ["the password is blank"]),
        ("my-Lin.Wei-badge-77", "lin.wei", ["picker"], strong, ["the password contains the user name"]),
        (
            "lin.wei",
            "lin.wei",
            ["picker"],
            strong,
            ["the password has 7 characters; it needs at least 10", "the password contains the user name"],
        ),
        # a 1-2 letter name is inside ordinary words: left to the estimator, which knows the name
        ("squad-qa-lantern", "qa", ["qa"], strong, []),
        (
            "x" * (MAX_LENGTH + 1),
            "lin.wei",
            ["picker"],
            strong,
            [f"the password has {MAX_LENGTH + 1} characters; at most {MAX_LENGTH} can be used to sign in"],
        ),
        (
            "violet-harbour-9",
            "lin.wei",
            ["picker"],
            weak,
            ["the password is too easy to guess (strength 1 of 4; it needs 3)"],
        ),
    ],
)
def test_the_password_policy(password, username, roles, estimate, reasons):
    if not reasons:
        check_password(password, username=username, display_name=None, roles=roles, estimate=estimate)
        return
    with pytest.raises(WeakPassword) as refused:
        check_password(password, username=username, display_name=None, roles=roles, estimate=estimate)
    assert refused.value.context["reasons"] == reasons
    assert refused.value.context["pointer"] == "/password"
    assert refused.value.context["minLength"] == (MIN_LENGTH_ADMIN if "admin" in roles else MIN_LENGTH)


def test_a_weak_password_carries_the_estimators_advice():
    with pytest.raises(WeakPassword) as refused:
        check_password("violet-harbour-9", username="lin.wei", display_name=None, roles=["picker"], estimate=weak)
    assert refused.value.context["warning"] == "This is a very common password."
    assert refused.value.context["suggestions"] == ["Add another word or two."]


def test_the_estimator_is_told_the_user_name_and_display_name_and_sees_at_most_72_characters():
    seen = []

    def spy(password, known):
        seen.append((len(password), list(known)))
        return Strength(4)

    check_password("p" * 100, username="lin.wei", display_name="Lin Wei", roles=["picker"], estimate=spy)
    assert seen == [(72, ["lin.wei", "Lin Wei", "lin", "wei"])]


@pytest.mark.parametrize(
    ("password", "username", "display_name", "roles", "accepted"),
    [
        # what the review found `users add --role admin` accepted
        ("123456", "root", None, ["admin"], False),
        ("      ", "root", None, ["admin"], False),
        ("administrator", "administrator", None, ["admin"], False),
        # long enough, but a common pattern or built from the person's own names
        ("password1234", "lin.wei", None, ["picker"], False),
        ("qwertyuiop12", "lin.wei", None, ["picker"], False),
        ("LinWeiLinWei", "lw", "Lin Wei", ["picker"], False),
        # hard to guess
        ("Quartz-Lantern-Orbit-42", "root", None, ["admin"], True),
        ("correct horse battery staple", "lin.wei", None, ["picker"], True),
    ],
)
def test_the_policy_with_zxcvbn(password, username, display_name, roles, accepted):
    if accepted:
        check_password(password, username=username, display_name=display_name, roles=roles, estimate=zxcvbn_strength)
    else:
        with pytest.raises(WeakPassword):
            check_password(
                password, username=username, display_name=display_name, roles=roles, estimate=zxcvbn_strength
            )
