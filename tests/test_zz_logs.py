"""Runs last: nothing the whole suite logged carries message text, tokens or raw LINE ids."""

from __future__ import annotations

import re

from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, EVERYTHING_LOGGED

LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")
THAI = re.compile(r"[\u0e00-\u0e7f]")  # every message people send in this suite is Thai


def test_the_logs_of_the_whole_run_hold_no_personal_data():
    assert EVERYTHING_LOGGED.records, "the collecting handler saw nothing: is it installed?"
    leaks = []
    for record in EVERYTHING_LOGGED.records:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if LINE_ID.search(message) or THAI.search(message) or ACCESS_TOKEN in message or CHANNEL_SECRET in message:
            leaks.append(f"{record.name}: {message[:200]}")
    assert leaks == []
