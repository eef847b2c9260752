"""Every refusal a handheld can receive has a zh-CN and an English text (translated by problem ``code``).

Codes only the ERP or an administrator meet (webhooks, printer registry, ERP record versions) are listed
here on purpose; the handheld shows the server's ``detail`` for them.
"""

from __future__ import annotations

import re
from pathlib import Path

from udipick.domain import errors

MESSAGES = Path(__file__).resolve().parents[2] / "pwa" / "src" / "messages.ts"

NOT_ON_HANDHELDS = {
    "domain-error",
    "invalid-record",
    "stale-version",
    "version-reused",
    "invalid-label-data",
    "unknown-label-template",
    "printer-already-registered",
    "unknown-webhook-delivery",
    "unknown-webhook-subscription",
    "webhook-name-taken",
    "webhook-target-refused",
    "invalid-cursor",
    "invalid-gln",  # the site record, an administrator's page
    "weak-password",
    "unknown-user",
    "unknown-api-key",
    "last-admin",  # the users page, an administrator's
    # the ERP's purchase-order cancel only
    "purchase-order-not-found",
    "receipt-in-progress",
    # ERP bulk loads only
    "line-too-long",
    "bulk-interrupted",
}


def _codes() -> set[str]:
    out, todo = set(), [errors.DomainError]
    while todo:
        cls = todo.pop()
        out.add(cls.code)
        todo.extend(cls.__subclasses__())
    return out


def _table(source: str, name: str) -> dict[str, tuple[str, str | None]]:
    body = source.split(f"export const {name}", 1)[1].split("};", 1)[0]
    return {
        m[0]: (m[1], m[2])
        for m in re.findall(r'"([a-z0-9-]+)": \["((?:[^"\\]|\\.)*)", (?:"((?:[^"\\]|\\.)*)"|null)\]', body)
    }


def test_every_refusal_a_handheld_can_get_is_translated_into_both_languages():
    source = MESSAGES.read_text(encoding="utf-8")
    en, zh = _table(source, "problemsEn"), _table(source, "problemsZh")
    needed = _codes() - NOT_ON_HANDHELDS
    assert sorted(needed - en.keys()) == [], "add English texts to pwa/src/messages.ts"
    assert sorted(needed - zh.keys()) == [], "add zh-CN texts to pwa/src/messages.ts"


def test_both_languages_use_the_same_context_members():
    source = MESSAGES.read_text(encoding="utf-8")
    en, zh = _table(source, "problemsEn"), _table(source, "problemsZh")
    assert en.keys() == zh.keys()
    for code in en:
        names = lambda pair: set(re.findall(r"\{(\w+)\}", " ".join(p or "" for p in pair)))  # noqa: E731
        assert names(en[code]) == names(zh[code]), code


SCREEN_TEXTS = [MESSAGES, MESSAGES.parent / "supervisor" / "messages.ts"]


def _texts(source: str, name: str) -> dict[str, str]:
    body = source.split(f"export const {name}", 1)[1].split("};", 1)[0]
    return dict(re.findall(r'^  "([\w.]+)": "((?:[^"\\]|\\.)*)",$', body, re.M))


def test_every_screen_text_has_both_languages_with_the_same_placeholders():
    """The type checker proves `zh` has every key; a zh-CN text that drops or renames `{n}` it cannot see."""
    for path in SCREEN_TEXTS:
        source = path.read_text(encoding="utf-8")
        en, zh = _texts(source, "en"), _texts(source, "zh")
        assert len(en) > 20 and en.keys() == zh.keys(), path.name
        for key in en:
            assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key])), (path.name, key)
            assert zh[key].strip(), (path.name, key)


def test_a_wrong_item_refusal_names_the_code_on_the_expected_items_labels_in_both_languages():
    """GTIN, MA DI or AHM DI (``expectedCode``, issue 22): the picker looks for what is printed on the shelf."""
    source = MESSAGES.read_text(encoding="utf-8")
    for table in ("problemsEn", "problemsZh"):
        assert "{expectedCode}" in " ".join(p or "" for p in _table(source, table)["wrong-item"]), table
