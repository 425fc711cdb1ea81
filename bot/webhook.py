"""POST /callback: verify LINE's signature, store the events, answer 200 at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections import Counter
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.database import get_db
from models.base import utcnow
from models.inbox import refusal, store_events

bp = Blueprint("webhook", __name__)
log = logging.getLogger(__name__)


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """HMAC-SHA256 over the raw bytes, compared in constant time."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("ascii", "replace"))


@bp.post("/callback")
def callback():  # type: ignore[no-untyped-def]
    body = request.get_data(cache=False)  # raw bytes; MAX_CONTENT_LENGTH answers 413 beyond the cap
    signature = request.headers.get("X-Line-Signature", "")
    if not signature or not signature_is_valid(current_app.config["LINE_CHANNEL_SECRET"], body, signature):
        log.warning("webhook: rejected a request with a missing or invalid signature")
        abort(400, description="invalid signature")
    events = _parse_events(body)
    refused = Counter(reason for reason in (refusal(event, utcnow()) for event in events) if reason)
    if refused:
        # Counts and reasons only: the events themselves may carry message text and LINE ids.
        log.warning("webhook: refused %s", ", ".join(f"{n} event(s): {why}" for why, n in sorted(refused.items())))
    try:
        with get_db().transaction() as session:
            added = store_events(session, events, utcnow())
    except OperationalError as exc:
        # 503 makes LINE redeliver later (when redelivery is on); nothing was half-written.
        log.error("webhook: database unavailable (%s); asking LINE to retry", type(exc).__name__)
        return jsonify(status="unavailable"), 503
    except SQLAlchemyError as exc:
        log.error("webhook: could not store events (%s)", type(exc).__name__)
        return jsonify(status="error"), 500
    log.info("webhook: %d event(s) received, %d new", len(events), added)
    return jsonify(status="ok")


def _parse_events(body: bytes) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        abort(400, description="body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("events", []), list):
        abort(400, description="body is not a LINE webhook")
    return [event for event in payload.get("events", []) if isinstance(event, dict)]
