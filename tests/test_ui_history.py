"""The web UI hands follow-ups their history whatever shape Gradio gives a message in."""
from __future__ import annotations

import pytest

from assistant.ui import message_text


@pytest.mark.parametrize("content,text", [
    ("Как получить справку о несудимости?", "Как получить справку о несудимости?"),
    ([{"type": "text", "text": "справка о несудимости"}], "справка о несудимости"),
    ({"text": "police clearance"}, "police clearance"),
    (None, ""),
])
def test_message_text(content, text):
    assert message_text(content) == text
