"""Anything a scanner can send to the pick-scan endpoint gets an answer, never a 500."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import login


@pytest.mark.parametrize(
    "task, body",
    [
        ("99999999999999999999", {"raw": "0104150000000014"}),  # beyond a bigint
        ("-1", {"raw": "0104150000000014"}),
        ("1", {"raw": "\x00\x1d\x1d"}),
        ("1", {"raw": "01" + "9" * 4000}),
        ("1", {"raw": "]d2010415000000001410LOT\x1d21" + "S" * 200}),
        ("1", {"raw": "https://id.gs1.org/01/04150000000014/10/L%00T"}),
        ("1", {"raw": "+H123PCN01Z1/$$3250101LOT/S" + "x" * 100}),
    ],
)
async def test_a_strange_scan_gets_an_answer_not_a_server_error(client, task, body):
    picker = await login(client, "picker")
    r = await client.post(
        f"/api/v1/picking/tasks/{task}/scans", json={"clientScanId": str(uuid.uuid4()), **body}, headers=picker
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text


@pytest.mark.parametrize(
    "content",
    [
        b'{"clientScanId": "%s", "raw": "0104150000000014", "locationRaw": "\\udcff"}',  # a lone surrogate
        b'{"clientScanId": "%s", "raw": "\xff\xfe01"}',  # not UTF-8
        b'{"clientScanId": "%s", "raw": 12}',
        b'{"clientScanId": "%s"',
    ],
)
async def test_a_malformed_body_gets_a_problem(client, content):
    picker = await login(client, "picker")
    r = await client.post(
        "/api/v1/picking/tasks/1/scans",
        content=content.replace(b"%s", str(uuid.uuid4()).encode()),
        headers={**picker, "content-type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
