"""bot/line_api.py on its own: which host serves content, and which failures may have reached LINE."""

from __future__ import annotations

import pytest
import urllib3

from bot.line_api import _may_have_reached, data_host_for


@pytest.mark.parametrize(("base", "data"), [
    ("https://api.line.me", "https://api-data.line.me"),
    ("https://api.line.me/", "https://api-data.line.me/"),
    ("https://API.LINE.ME", "https://api-data.line.me"),
    ("https://api.line.me:443", "https://api-data.line.me:443"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),  # the fake platform serves both
    ("https://api.line.me.example.org", "https://api.line.me.example.org"),  # not LINE: never rewritten
    ("https://proxy.example.org/line", "https://proxy.example.org/line"),
])
def test_the_data_host_is_chosen_from_the_parsed_base_url(base, data):
    assert data_host_for(base) == data


def test_a_connection_never_made_cannot_have_reached_line():
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 1)
    refused = urllib3.exceptions.NewConnectionError(pool, "refused")
    assert _may_have_reached(refused) is False
    assert _may_have_reached(urllib3.exceptions.MaxRetryError(pool, "/", refused)) is False
    assert _may_have_reached(urllib3.exceptions.ConnectTimeoutError(pool, "connect")) is False
    assert _may_have_reached(urllib3.exceptions.ReadTimeoutError(pool, "/", "read")) is True
    assert _may_have_reached(urllib3.exceptions.ProtocolError("connection aborted")) is True
