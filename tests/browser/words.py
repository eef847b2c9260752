"""Helpers of the handheld's words tests (issue 21): the two languages as parameters, the words each walk
expects, and a check that a zh-CN screen shows no English (codes, units, lots and names excepted)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import db_fetch

EN = pytest.param("en", marks=pytest.mark.locale("en-US"), id="en")
ZH = pytest.param("zh-CN", marks=pytest.mark.locale("zh-CN"), id="zh-CN")

#: words that are codes or names everywhere, not English the handheld should have translated
CODE_WORDS = {"udipick", "LPN", "SSCC", "GTIN", "ASN", "PO", "SO", "QC", "PIN", "EN", "HTTP", "GS", "RMA", "ERP", "UDI"}


def english_words(page, allowed: set[str]) -> list[str]:
    """Latin-script words on screen that are not codes (with digits, all capitals, or listed) or data names."""
    text = page.evaluate("document.body.innerText")
    words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]", text)
    tokens = set(re.findall(r"\S+", text))
    coded = {w for tok in tokens if re.search(r"\d", tok) for w in re.findall(r"[A-Za-z]+", tok)}
    return sorted(
        {
            w
            for w in words
            if w not in allowed and w not in CODE_WORDS and not w.isupper() and w not in coded and len(w) > 1
        }
    )


def data_names(database_url: str) -> set[str]:
    """Words of master data (item, supplier and customer names, user display names): shown as entered."""
    rows = db_fetch(
        database_url,
        "SELECT name FROM items UNION ALL SELECT display_name FROM users UNION ALL SELECT name FROM suppliers"
        " UNION ALL SELECT name FROM customers",
    )
    return {w for r in rows if r["name"] for w in re.findall(r"[A-Za-z][A-Za-z'-]*", r["name"])}


def assert_no_english(page, lang: str, allowed: set[str], where: str) -> None:
    if lang == "zh-CN":
        assert english_words(page, allowed) == [], f"English on the zh-CN {where} screen"


def one_line(page, test_id: str) -> bool:
    """The button's label is not broken inside a word: its text has one line box per word at most."""
    return page.evaluate(
        """(id) => { const el = document.querySelector(`[data-testid="${id}"]`);
            const r = document.createRange(); r.selectNodeContents(el);
            const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
            return lines.size <= el.textContent.trim().split(/\\s+/).length; }""",
        test_id,
    )


WORDS = {
    "en": {
        "role": "Receiver",
        "open": "open",
        "short": "short shelf life: 30 days left, 60 required",
        "refuse": "Refuse the goods",
        "label": "print job",
        "stops": "Stops left",
        "skipped": "Skipped",
        "deferred": "Deferred",
        "notPicked": "picked units of SYR-10ML wait to be packed",
        "closed": "closed",
        "needsQuarantine": "Needs a quarantine location",
        "segregate": "held stock must stay segregated",
    },
    "zh-CN": {
        "role": "收货员",
        "open": "进行中",
        "short": "效期不足：剩余 30 天，要求 60 天",
        "refuse": "拒收",
        "label": "打印任务",
        "stops": "剩余库位",
        "skipped": "已跳过",
        "deferred": "已推迟",
        "notPicked": "件已拣的 SYR-10ML 等待装箱",
        "closed": "已关闭",
        "needsQuarantine": "需要待检库位",
        "segregate": "未放行的货物必须隔离存放",
    },
}
#: a document per language, so both walks can receive on one demo database
DOCUMENT = {"en": ("PO-1001", 200), "zh-CN": ("ASN-2002", 300)}
