"""Group chats: silent unless addressed; binding the IT group; being removed from it."""

from __future__ import annotations

from handlers import texts
from models.groups import it_group_id
from tests.conftest import DIRECTOR, IT_GROUP, KANDA, MALEE, post_events, say

OTHER_GROUP = "C0123456789abcdef0123456789abcdef"


def test_ordinary_chatter_in_a_group_gets_no_answer(client, line, worker):
    assert say(client, line, worker, MALEE, "กินข้าวยัง", group_id=OTHER_GROUP) == []
    assert say(client, line, worker, MALEE, "เมนู", group_id=OTHER_GROUP) == []


def test_mention_or_command_in_a_group_is_answered(client, line, worker):
    assert say(client, line, worker, MALEE, "@บอท ช่วยด้วย", group_id=OTHER_GROUP, mention_self=True)
    assert say(client, line, worker, MALEE, "/help", group_id=OTHER_GROUP)[0]["text"] == texts.GROUP_HELP


def test_joining_a_group_explains_how_to_bind_it(client, line, worker):
    post_events(client, line, [line.make_event("join", None, group_id=OTHER_GROUP)])
    worker.tick()
    assert "/itgroup" in line.messages_to(OTHER_GROUP)[0]["text"]


def test_admin_binds_the_it_group_and_it_overrides_the_file(client, line, worker, db):
    with db.transaction() as session:
        assert it_group_id(session) == IT_GROUP  # from notify.it_target
    answer = say(client, line, worker, KANDA, "/itgroup", group_id=OTHER_GROUP)
    assert "ตั้งกลุ่มนี้เป็นกลุ่มรับแจ้งงาน" in answer[0]["text"]
    with db.transaction() as session:
        assert it_group_id(session) == OTHER_GROUP


def test_non_admin_cannot_bind_the_it_group(client, line, worker, db):
    answer = say(client, line, worker, MALEE, "/itgroup", group_id=OTHER_GROUP)
    assert answer[0]["text"] == texts.GROUP_BIND_DENIED
    with db.transaction() as session:
        assert it_group_id(session) == IT_GROUP


def test_unregistered_person_cannot_bind_the_it_group(client, line, worker):
    stranger = "Ufedcba9876543210fedcba9876543210"
    answer = say(client, line, worker, stranger, "/itgroup", group_id=OTHER_GROUP)
    assert answer[0]["text"] == texts.GROUP_UNKNOWN_USER


def test_removal_from_the_bound_group_tells_the_admins(client, line, worker, db):
    say(client, line, worker, KANDA, "/itgroup", group_id=OTHER_GROUP)
    post_events(client, line, [line.make_event("leave", None, group_id=OTHER_GROUP)])
    worker.tick()
    for admin in (DIRECTOR, KANDA):
        assert any("นำออกจากกลุ่ม" in m["text"] for m in line.messages_to(admin))
    with db.transaction() as session:
        assert it_group_id(session) == IT_GROUP  # falls back to the organisation file


def test_removal_from_another_group_tells_nobody(client, line, worker):
    post_events(client, line, [line.make_event("leave", None, group_id=OTHER_GROUP)])
    worker.tick()
    assert line.messages_to(DIRECTOR) == []
