"""Dialogs declared like python-telegram-bot's ConversationHandler, with state in the database.

A dialog has entry points (routes that start it), states (state name → routes), fallbacks
(routes tried in any state when no state route matches) and a timeout. A route pairs a matcher
with a callback; the callback returns the next state, END, or None to stay where it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from handlers import texts
from handlers.context import Context
from handlers.messages import text
from handlers.registry import Registry
from models import dialogs

END = "__end__"

Matcher = Callable[[Context], bool]
Callback = Callable[[Context, dict[str, Any]], str | None]


@dataclass(frozen=True)
class Route:
    matches: Matcher
    callback: Callback


@dataclass
class Dialog:
    name: str
    entry_points: list[Route]
    states: dict[str, list[Route]]
    fallbacks: list[Route] = field(default_factory=list)
    timeout: timedelta | None = None  # None: the deployment's default dialog timeout
    # Called when a message arrives for an expired dialog; the default says it expired.
    on_timeout: Callable[[Context, dict[str, Any]], None] | None = None
    # Said when nothing in the current state matches; the dialog stays where it is.
    on_unexpected: Callable[[Context, dict[str, Any], str], None] | None = None


class Conversations:
    def __init__(self) -> None:
        self.dialogs: Registry[Dialog] = Registry("dialog")

    def add(self, dialog: Dialog) -> Dialog:
        unknown = [s for s in dialog.states if not s or s == END]
        if unknown:
            raise ValueError(f"dialog {dialog.name}: invalid state names {unknown}")
        return self.dialogs.register(dialog.name, dialog)

    def active(self, ctx: Context) -> dialogs.DialogState | None:
        return dialogs.load(ctx.session, ctx.chat_key)

    def cancel(self, ctx: Context) -> bool:
        """Drop the current dialog, if any. Returns whether there was one."""
        if self.active(ctx) is None:
            return False
        dialogs.clear(ctx.session, ctx.chat_key)
        return True

    def handle(self, ctx: Context) -> bool:
        """Run the event through the active dialog or an entry point; False when none took it."""
        row = self.active(ctx)
        if row is not None:
            dialog = self.dialogs.get(row.dialog)
            if dialog is None or row.expires_at <= ctx.now:
                dialogs.clear(ctx.session, ctx.chat_key)
                if dialog is not None:
                    (dialog.on_timeout or _say_expired)(ctx, copy.deepcopy(row.data))
                return self._enter(ctx)
            data = copy.deepcopy(row.data)
            ctx.dialog_state = row.state  # callbacks shared by several states read which one it is
            for route in dialog.states.get(row.state, []) + dialog.fallbacks:
                if route.matches(ctx):
                    self._advance(ctx, dialog, row.state, route.callback(ctx, data), data)
                    return True
            if dialog.on_unexpected:
                dialog.on_unexpected(ctx, data, row.state)
                self._advance(ctx, dialog, row.state, None, data)
                return True
            return False
        return self._enter(ctx)

    def start(self, ctx: Context, name: str, state: str, data: dict[str, Any] | None = None) -> None:
        """Enter a dialog directly (e.g. from a menu button) in the given state."""
        dialog = self.dialogs.get(name)
        if dialog is None:
            raise KeyError(name)
        self._advance(ctx, dialog, state, state, dict(data or {}))

    def _enter(self, ctx: Context) -> bool:
        for dialog in self.dialogs.values():
            for route in dialog.entry_points:
                if route.matches(ctx):
                    data: dict[str, Any] = {}
                    self._advance(ctx, dialog, None, route.callback(ctx, data), data)
                    return True
        return False

    def _advance(
        self, ctx: Context, dialog: Dialog, current: str | None, nxt: str | None, data: dict[str, Any]
    ) -> None:
        target = current if nxt is None else nxt
        if target is None or target == END:
            dialogs.clear(ctx.session, ctx.chat_key)
            return
        if target not in dialog.states:
            raise KeyError(f"dialog {dialog.name}: no state {target!r}")
        timeout = dialog.timeout or ctx.settings.dialog_timeout
        dialogs.save(ctx.session, ctx.chat_key, dialog.name, target, data, ctx.now, ctx.now + timeout)


def _say_expired(ctx: Context, _data: dict[str, Any]) -> None:
    ctx.reply(text(texts.DIALOG_EXPIRED))


# Matchers -----------------------------------------------------------------------------------


def text_is(*words: str) -> Matcher:
    wanted = {w.casefold() for w in words}
    return lambda ctx: ctx.text is not None and ctx.text.casefold() in wanted


def text_matches(pattern: str) -> Matcher:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda ctx: ctx.text is not None and regex.search(ctx.text) is not None


def any_text() -> Matcher:
    return lambda ctx: ctx.text is not None and ctx.text != ""


def postback_is(*actions: str) -> Matcher:
    wanted = set(actions)
    return lambda ctx: ctx.postback is not None and ctx.postback.action in wanted


def message_type_is(*types: str) -> Matcher:
    wanted = set(types)
    return lambda ctx: ctx.event.get("type") == "message" and ctx.message.get("type") in wanted
