"""The ERP connectors' cursors in udipick's database: one running connector per name, and a cursor that
never goes back (a page read again after a crash ends where the cursor already is)."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.integrations.tryton.books import database_uri
from udipick.integrations.tryton.connector import Cursors


def test_a_second_connector_of_the_same_name_is_refused_while_the_first_runs(database_url):
    first = Cursors(database_url, "tryton:erp")
    try:
        with pytest.raises(RuntimeError, match="another connector 'tryton:erp' is running"):
            Cursors(database_url, "tryton:erp", lock_wait_s=0.1)
        other = Cursors(database_url, "tryton:other", lock_wait_s=0.1)  # another Tryton database: its own lock
        other.close()
        report = Cursors(database_url, "tryton:erp", exclusive=False)  # the reconciliation report only reads
        assert report.read() == (0, None)
        report.close()
    finally:
        first.close()
    again = Cursors(database_url, "tryton:erp", lock_wait_s=0.1)
    again.close()


def test_the_events_cursor_never_goes_back_and_the_pull_moment_is_kept(database_url):
    cursors = Cursors(database_url, "tryton:erp")
    try:
        cursors.save_events_after(42)
        cursors.save_events_after(40)
        moment = dt.datetime(2026, 12, 6, 10, 0, 0, 123456)
        cursors.save_pulled_until(moment)
        assert cursors.read() == (42, moment)
    finally:
        cursors.close()


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("tryton", "postgresql://postgres@127.0.0.1:5432/tryton"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_a_tryton_database_name_is_completed_from_trytonds_config(tmp_path, database, expected):
    config = tmp_path / "trytond.conf"
    config.write_text("[database]\nuri = postgresql://postgres@127.0.0.1:5432/\n")
    assert database_uri(database, str(config)) == expected
