"""The main menu: what the bot does, as quick replies and as the rich menu's buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers import texts
from handlers.context import Context
from handlers.messages import message_action, postback_action, text
from handlers.registry import Registry

MENU_ACTION = "menu"


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str  # ≤ 20 characters: it is a button label
    title: str  # how messages name the service
    start: Callable[[Context], None] | None = None  # None: not available in this deployment yet


ITEMS: Registry[MenuItem] = Registry("menu item")


def register(item: MenuItem) -> MenuItem:
    return ITEMS.register(item.key, item)


def replace_start(key: str, start: Callable[[Context], None]) -> None:
    """Feature modules plug their dialog into the menu entry they own."""
    item = ITEMS.get(key)
    if item is None:
        raise KeyError(key)
    ITEMS.replace(key, MenuItem(item.key, item.label, item.title, start))


def quick_replies() -> list[dict]:
    actions = [postback_action(item.label, MENU_ACTION, i=item.key) for item in ITEMS.values()]
    return [*actions, message_action("ยกเลิก")]


def show(ctx: Context, prompt: str = texts.MENU_PROMPT) -> None:
    ctx.reply(text(prompt, quick_replies()))


def choose(ctx: Context, key: str) -> None:
    item = ITEMS.get(key)
    if item is None:
        ctx.reply(text(texts.STALE_BUTTON, quick_replies()))
    elif item.start is None:
        ctx.reply(text(texts.FEATURE_NOT_READY.format(title=item.title), quick_replies()))
    else:
        item.start(ctx)


def show_help(ctx: Context) -> None:
    lines = [f"• {item.title}" for item in ITEMS.values() if item.key != "help"]
    body = (
        "บอทนี้ช่วยได้เรื่อง:\n" + "\n".join(lines) + "\n\n"
        "พิมพ์ \"เมนู\" เพื่อดูปุ่มทั้งหมด หรือ \"ยกเลิก\" เพื่อยกเลิกเรื่องที่ทำค้างไว้"
    )
    ctx.reply(text(body, quick_replies()))


register(MenuItem("report", "แจ้งปัญหาไอที", "แจ้งปัญหาไอที/ระบบขัดข้อง"))
register(MenuItem("account", "ขอสิทธิ์/บัญชี", "ขอเปิด ปรับ หรือยกเลิกสิทธิ์ใช้งานระบบ"))
register(MenuItem("website", "ขอลงเว็บไซต์", "ขอเผยแพร่ข้อมูลบนเว็บไซต์หน่วยงาน"))
register(MenuItem("ask", "ถามขั้นตอน SOP", "ถามขั้นตอนตามคู่มือปฏิบัติงาน"))
register(MenuItem("track", "ติดตามคำขอ", "ติดตามคำขอของฉัน"))
register(MenuItem("help", "วิธีใช้", "วิธีใช้งาน", show_help))
