"""docs/events.md is generated from the event structs and kept up to date."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT
from udipick.services.events import EVENT_TYPES
from udipick.services.events_doc import render


def test_the_committed_events_doc_matches_the_event_structs():
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m udipick.services.events_doc"


def test_every_event_type_has_a_json_schema_section():
    text = render()
    for name, cls in EVENT_TYPES.items():
        section = text.split(f"\n## {name}\n", 1)[1]
        schema = json.loads(re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1))
        assert schema["$ref"].endswith(cls.__name__)
        props = schema["$defs"][cls.__name__]["properties"]
        assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", p) for p in props), props  # camelCase on the wire
