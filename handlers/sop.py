"""SOP questions: answered from the curated corpus with a citation, or honestly not found, and
followed by "did this help?" buttons whose answers are kept for the admin."""

from __future__ import annotations

from typing import Any

import knowledge
from handlers import intents, menu, postback, texts
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text
from handlers.messages import postback_action, text
from models import sop_answers

DIALOG = "sop"
FEEDBACK_ACTION = "kbf"
# Below this the message had nothing in common with any passage: it is not a question at all.
UNRELATED_BELOW = 0.3


def warm_up() -> int:
    """Build the index now (worker start-up) rather than on the first question. Returns passages."""
    return len(knowledge.knowledge_base())


def ask(question: str) -> knowledge.Answer:
    return knowledge.answer(knowledge.knowledge_base(), question)


def answer_question(ctx: Context, question: str, *, asked_for: bool = False) -> None:
    """Answer in this chat. `asked_for`: the person chose "ask the SOP", so even a weak match is
    treated as a question (no fallback to "not understood")."""
    result = ask(question)
    if not result.found and not asked_for and result.score < UNRELATED_BELOW and not intents.is_question(question):
        menu.show(ctx, texts.NOT_UNDERSTOOD)
        return
    row = sop_answers.record_answer(
        ctx.session, ctx.now, ctx.staff.id if ctx.staff else None, question, result.found,
        [c.passage_id for c in result.citations], result.score,
    )
    if not result.found:
        ctx.reply(text(texts.SOP_NOT_FOUND, _not_found_buttons()))
        return
    buttons = [
        postback_action("ช่วยได้", FEEDBACK_ACTION, i=row.id, v=1),
        postback_action("ยังไม่ตรง", FEEDBACK_ACTION, i=row.id, v=0),
    ]
    related = intents.related_service(question)
    item = menu.ITEMS.get(related) if related else None
    if item is not None:
        buttons.append(postback_action(item.label, menu.MENU_ACTION, i=item.key))
    ctx.reply(text(result.text), text(texts.SOP_DID_IT_HELP, buttons))


def on_feedback(ctx: Context) -> None:
    pb = ctx.postback
    if pb is None or ctx.staff is None:
        return
    answer_id, helpful = postback.row_id(pb), pb.params.get("v") == "1"
    if answer_id is None:
        menu.show(ctx, texts.STALE_BUTTON)
        return
    if not sop_answers.record_feedback(ctx.session, answer_id, ctx.staff.id, helpful, ctx.now):
        ctx.reply(text(texts.SOP_FEEDBACK_ALREADY))
    elif helpful:
        ctx.reply(text(texts.SOP_THANKS))
    else:
        ctx.reply(text(texts.SOP_SORRY, _not_found_buttons()))


def _not_found_buttons() -> list[dict[str, Any]]:
    return [
        postback_action("แจ้งไอที", menu.MENU_ACTION, i="report"),
        postback_action("ถามเรื่องอื่น", menu.MENU_ACTION, i="ask"),
        postback_action("เมนู", menu.MENU_ACTION, i="help"),
    ]


# The "ask the SOP" dialog: one question, one answer ----------------------------------------------


def start(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    ctx.reply(text(texts.SOP_ASK_PROMPT))
    CONVERSATIONS.start(ctx, DIALOG, "asking")


def _asked(ctx: Context, _data: dict[str, Any]) -> str:
    answer_question(ctx, ctx.text or "", asked_for=True)
    return END


def _not_text(ctx: Context, _data: dict[str, Any], _state: str) -> None:
    ctx.reply(text(texts.SOP_TYPE_A_QUESTION))


SOP_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],  # started from the menu; free-text questions are answered without a dialog
    states={"asking": [Route(any_text(), _asked)]},
    on_unexpected=_not_text,
)
