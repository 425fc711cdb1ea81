"""The fake platform's HTTP face (plain werkzeug): every request is checked as LINE would check it
(bearer token, then the OpenAPI spec), then faults, then the endpoint's own rules in PlatformState.

Control endpoints under /_fake/ let another process inspect and steer the fake; they are not LINE
traffic and are neither validated nor recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Request, Response

from bot.fake_line import spec
from bot.fake_line.state import (
    Accepted,
    Conflict,
    PlatformState,
    RecordedRequest,
    Refused,
    new_request_id,
)

RICH_MENU_IMAGE_TYPES = ("image/png", "image/jpeg")
RICH_MENU_IMAGE_MAX = 1024 * 1024  # LINE: 1 MB at most
FAULT_MESSAGES = {
    429: "Too many requests",
    500: "An error occurred in the server",
    503: "Service unavailable",
}


@dataclass
class Call:
    """A request that passed auth and the spec, as an endpoint handler sees it."""

    json: Any
    raw: bytes
    content_type: str
    params: dict[str, str]
    headers: dict[str, str]
    request_id: str


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)  # JSON-able, or bytes sent as they are
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # violations found by the handler itself


Handler = Callable[[PlatformState, Call], Answer]


def error(status: int, message: str, **extra: Any) -> Answer:
    return Answer(status, {"message": message, **extra})


class FakeLineApp:
    """WSGI application serving the Messaging API (and the data API) on one base URL."""

    def __init__(self, state: PlatformState, access_token: str) -> None:
        self.state = state
        self.access_token = access_token

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._control(request) if request.path.startswith("/_fake/") else self._serve(request)
        return response(environ, start_response)

    # LINE traffic --------------------------------------------------------------------------------

    def _serve(self, request: Request) -> Response:
        request_id = new_request_id()
        raw = request.get_data()
        parsed = _json_or_none(raw) if request.mimetype == "application/json" else None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            json=parsed,
            query=dict(request.args),
            request_id=request_id,
        )
        answer = self._answer(request, raw, parsed, request_id)
        record.status, record.errors = answer.status, answer.errors
        self.state.record(record)
        self.state.hold_answer(request.path)  # after processing: a slow answer, not a slow platform
        return _response(answer, request_id)

    def _answer(self, request: Request, raw: bytes, parsed: Any, request_id: str) -> Answer:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            answer = error(401, "Authorization header required. Must follow the scheme, "
                                "'Authorization: Bearer <ACCESS TOKEN>'")
            answer.errors = ["missing bearer token in Authorization header"]
            return answer
        if authorization != f"Bearer {self.access_token}":
            answer = error(401, "Authentication failed. Confirm that the access token in the "
                                "authorization header is valid.")
            answer.errors = ["wrong channel access token"]
            return answer
        checked = spec.validate(
            request.method, request.path, request.headers, request.args, raw, request.content_type or ""
        )
        if checked.operation_id is None:
            answer = error(checked.status, "Not found" if checked.status == 404 else "Method not allowed")
            answer.errors = [str(problem) for problem in checked.problems]
            return answer
        if checked.problems:
            details = [{"message": p.message, "property": p.where} for p in checked.problems]
            answer = error(400, f"The request body has {len(details)} error(s)", details=details)
            answer.errors = [str(problem) for problem in checked.problems]
            return answer
        fault = self.state.take_fault(request.path)
        if fault is None:
            fault = self.state.take_random_fault(request.path, request_id)
        if fault is not None:
            return error(fault, FAULT_MESSAGES.get(fault) or HTTPStatus(fault).phrase)
        call = Call(
            json=parsed,
            raw=raw,
            content_type=request.mimetype,
            params=checked.path_params,
            headers={name.lower(): value for name, value in request.headers.items()},
            request_id=request_id,
        )
        answer = HANDLERS.get(checked.operation_id, _ok)(self.state, call)
        lost = self.state.lost_answer(request_id)
        if lost is not None and answer.status == 200:  # taken, but the answer the bot gets is a failure
            return error(lost, FAULT_MESSAGES.get(lost) or HTTPStatus(lost).phrase)
        return answer

    # Control -------------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        state, route = self.state, (request.method, request.path)
        body = _json_or_none(request.get_data()) or {}
        if route == ("GET", "/_fake/sent"):
            to = request.args.get("to")
            return _json([asdict(s) for s in list(state.sent) if to is None or s.to == to])
        if route == ("GET", "/_fake/requests"):
            return _json([asdict(r) for r in list(state.requests)])
        if route == ("GET", "/_fake/violations"):
            return _json(list(state.violations))
        if route == ("POST", "/_fake/reset"):
            state.reset()
            return _json({"ok": True})
        if route == ("POST", "/_fake/faults") and isinstance(body, dict):
            prefix = str(body.get("path_prefix", "/v2/bot/message"))
            if "fail_next" in body:
                state.fail_next(int(body["fail_next"]), int(body.get("status", 500)), prefix)
            if "delay" in body:
                state.set_delay(float(body["delay"]), prefix)
            if "down" in body:
                state.set_down(bool(body["down"]))
            if "failure_rate" in body:
                state.set_failure_rate(float(body["failure_rate"]), int(body.get("status", 500)), prefix,
                                       seed=body.get("seed", 0), after_accept=float(body.get("after_accept", 0)))
            return _json({"ok": True})
        if route == ("POST", "/_fake/reply-token") and isinstance(body, dict):
            return _json({"replyToken": state.issue_reply_token(body.get("to"))})
        return _json({"message": "Not found"}, 404)


# Endpoint handlers -------------------------------------------------------------------------------


def _ok(state: PlatformState, call: Call) -> Answer:
    """Any other operation the spec knows: validated, and answered with an empty object."""
    return Answer()


def _outcome(outcome: Accepted | Conflict | Refused) -> Answer:
    if isinstance(outcome, Accepted):
        return Answer(body={"sentMessages": outcome.sent_messages})
    if isinstance(outcome, Conflict):
        return Answer(
            409,
            {"message": "The retry key is already accepted", "sentMessages": outcome.sent_messages},
            headers={"x-line-accepted-request-id": outcome.accepted_request_id},
        )
    return error(outcome.status, outcome.message)


def _reply(state: PlatformState, call: Call) -> Answer:
    return _outcome(state.reply(call.json["replyToken"], call.json["messages"], call.request_id))


def _push(state: PlatformState, call: Call) -> Answer:
    retry_key = call.headers.get("x-line-retry-key")
    return _outcome(state.deliver("push", [call.json["to"]], call.json["messages"], retry_key, call.request_id))


def _multicast(state: PlatformState, call: Call) -> Answer:
    retry_key = call.headers.get("x-line-retry-key")
    recipients = list(dict.fromkeys(call.json["to"]))
    return _outcome(state.deliver("multicast", recipients, call.json["messages"], retry_key, call.request_id))


def _broadcast(state: PlatformState, call: Call) -> Answer:
    retry_key = call.headers.get("x-line-retry-key")
    return _outcome(state.deliver("broadcast", [None], call.json["messages"], retry_key, call.request_id))


def _quota(state: PlatformState, call: Call) -> Answer:
    limit = state.quota_limit
    return Answer(body={"type": "none"} if limit is None else {"type": "limited", "value": limit})


def _consumption(state: PlatformState, call: Call) -> Answer:
    return Answer(body={"totalUsage": state.push_count})


def _bot_info(state: PlatformState, call: Call) -> Answer:
    return Answer(body={
        "userId": state.bot_user_id,
        "basicId": "@" + state.bot_user_id[1:9],
        "displayName": state.bot_display_name,
        "chatMode": "bot",
        "markAsReadMode": "auto",
    })


def _profile(state: PlatformState, call: Call) -> Answer:
    profile = state.profile(call.params["userId"])
    return Answer(body=profile) if profile else error(404, "Not found")


def _member_count(state: PlatformState, call: Call) -> Answer:
    count = state.member_count(call.params.get("groupId") or call.params.get("roomId") or "")
    return error(404, "Not found") if count is None else Answer(body={"count": count})


def _content(state: PlatformState, call: Call) -> Answer:
    found = state.content(call.params["messageId"])
    if found is None:
        return error(404, "Not found")
    data, content_type = found
    return Answer(body=data, content_type=content_type)


def _create_rich_menu(state: PlatformState, call: Call) -> Answer:
    return Answer(body={"richMenuId": state.create_rich_menu(call.json)})


def _set_rich_menu_image(state: PlatformState, call: Call) -> Answer:
    # The spec takes any media type ("*/*"); LINE takes PNG or JPEG of at most 1 MB.
    if call.content_type not in RICH_MENU_IMAGE_TYPES:
        answer = error(400, f"Unsupported Content-Type: {call.content_type or 'none'} (image/png or image/jpeg)")
        answer.errors = [f"Content-Type {call.content_type or 'none'}: a rich menu image must be PNG or JPEG"]
        return answer
    if not call.raw or len(call.raw) > RICH_MENU_IMAGE_MAX:
        answer = error(400, "The image must be 1 byte to 1 MB")
        answer.errors = [f"rich menu image of {len(call.raw)} bytes: must be 1 byte to 1 MB"]
        return answer
    refused = state.set_rich_menu_image(call.params["richMenuId"], call.raw, call.content_type)
    return error(refused.status, refused.message) if refused else Answer()


def _get_rich_menu_image(state: PlatformState, call: Call) -> Answer:
    menu = state.rich_menu(call.params["richMenuId"])
    if menu is None or menu.image is None:
        return error(404, "Not found")
    return Answer(body=menu.image, content_type=menu.image_type)


def _get_rich_menu(state: PlatformState, call: Call) -> Answer:
    menu_id = call.params["richMenuId"]
    menu = state.rich_menu(menu_id)
    return Answer(body={"richMenuId": menu_id, **menu.definition}) if menu else error(404, "Not found")


def _rich_menu_list(state: PlatformState, call: Call) -> Answer:
    menus = dict(state.rich_menus)
    return Answer(body={"richmenus": [{"richMenuId": key, **menu.definition} for key, menu in menus.items()]})


def _delete_rich_menu(state: PlatformState, call: Call) -> Answer:
    return Answer() if state.delete_rich_menu(call.params["richMenuId"]) else error(404, "Not found")


def _set_default_rich_menu(state: PlatformState, call: Call) -> Answer:
    refused = state.set_default_rich_menu(call.params["richMenuId"])
    return error(refused.status, refused.message) if refused else Answer()


def _default_rich_menu(state: PlatformState, call: Call) -> Answer:
    menu_id = state.default_rich_menu
    return Answer(body={"richMenuId": menu_id}) if menu_id else error(404, "no default richmenu")


def _cancel_default_rich_menu(state: PlatformState, call: Call) -> Answer:
    state.default_rich_menu = None
    return Answer()


def _accepted(state: PlatformState, call: Call) -> Answer:
    return Answer(202)


HANDLERS: dict[str, Handler] = {
    "replyMessage": _reply,
    "pushMessage": _push,
    "multicast": _multicast,
    "broadcast": _broadcast,
    "getMessageQuota": _quota,
    "getMessageQuotaConsumption": _consumption,
    "getBotInfo": _bot_info,
    "getProfile": _profile,
    "getMessageContent": _content,
    "getGroupMemberCount": _member_count,
    "getRoomMemberCount": _member_count,
    "createRichMenu": _create_rich_menu,
    "setRichMenuImage": _set_rich_menu_image,
    "getRichMenuImage": _get_rich_menu_image,
    "getRichMenu": _get_rich_menu,
    "getRichMenuList": _rich_menu_list,
    "deleteRichMenu": _delete_rich_menu,
    "setDefaultRichMenu": _set_default_rich_menu,
    "getDefaultRichMenuId": _default_rich_menu,
    "cancelDefaultRichMenu": _cancel_default_rich_menu,
    "showLoadingAnimation": _accepted,
    "narrowcast": _accepted,
}


# Helpers -----------------------------------------------------------------------------------------


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _response(answer: Answer, request_id: str) -> Response:
    if isinstance(answer.body, bytes):
        response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    else:
        response = _json(answer.body, answer.status)
    response.headers["x-line-request-id"] = request_id
    for name, value in answer.headers.items():
        response.headers[name] = value
    return response
