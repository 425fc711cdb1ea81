"""Judge requests as LINE would, from LINE's own OpenAPI spec (openapi-core), plus the few documented
limits that the spec file leaves out (checked by hand below, each saying so).

The spec is loaded once per process: parsing and building it takes about half a second.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

HERE = Path(__file__).parent
MESSAGING_SPEC = HERE / "messaging-api.yml"
WEBHOOK_SPEC = HERE / "webhook.yml"
HOST_URL = "http://fake-line"  # any host: the loaded spec's servers are made relative

# Operations whose JSON body carries message objects (checked by hand as well as by the spec).
MESSAGE_OPERATIONS = frozenset({
    "replyMessage", "pushMessage", "multicast", "narrowcast", "broadcast", "pushMessagesByPhone",
    "validateReply", "validatePush", "validateMulticast", "validateNarrowcast", "validateBroadcast",
})
RICH_MENU_OPERATIONS = frozenset({"createRichMenu", "validateRichMenuObject"})
PUSH_TO = re.compile(r"^[UCR][0-9a-f]{32}$")  # a user, group or room
MULTICAST_TO = re.compile(r"^U[0-9a-f]{32}$")  # multicast reaches users only

# Documented limits that messaging-api.yml does not carry (openapi-core cannot enforce what the
# spec does not say), from developers.line.biz/en/reference/messaging-api/:
TEXT_MAX = 5000  # text message `text`, counted in UTF-16 code units
LABEL_MAX = 20  # action `label` in quick replies, templates and rich menus, in grapheme clusters
FLEX_LABEL_MAX = 40  # action `label` inside a Flex Message
ACTION_TEXT_MAX = 300  # message action `text`, postback `displayText`
ALT_TEXT_MAX = 1500  # flex/template `altText`
CAROUSEL_BUBBLES_MAX = 12  # bubbles in a Flex carousel
# Quick reply items (13), messages per call (5) and postback `data` (300) are in the spec and are
# enforced by openapi-core; the last only once discriminators are made to dispatch (see below).


@dataclass(frozen=True)
class Problem:
    """One reason LINE would refuse a request; `where` reads like LINE's `details[].property`."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class Checked:
    """What the spec says about one request: which operation it is and what is wrong with it."""

    operation_id: str | None  # None: no such path (or method) in the spec
    path_params: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    status: int = 400  # what to answer when there are problems: 404/405 for unknown paths


@dataclass
class _Request:
    """The request shape openapi-core reads (its `Request` protocol)."""

    method: str
    path: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str
    host_url: str = HOST_URL


# Loading -----------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _serve_anywhere(spec: dict[str, Any]) -> None:
    """LINE splits the API over api.line.me and api-data.line.me; the fake serves both on one base
    URL, so every server (top level, per path, per operation) becomes the relative "/"."""
    spec["servers"] = [{"url": "/"}]
    for item in spec.get("paths", {}).values():
        item.pop("servers", None)
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("servers", None)


def _dispatch_discriminators(schemas: dict[str, Any]) -> None:
    """Make `discriminator` mean something to openapi-core.

    LINE's spec puts the discriminator on a base schema (Message, Action, FlexComponent...) whose
    subtypes extend it with `allOf`. openapi-schema-validator only follows a discriminator that sits
    beside oneOf/anyOf/allOf, so as written only the base is checked: a postback's `data` length or a
    Flex box's `layout` would never be looked at. Each base is therefore split into `<Name>Base` (its
    own properties, extended by the subtypes) and `<Name>`, a dispatcher that validates the instance
    against the subtype its `type` names.
    """
    names = list(schemas)
    for name in names:
        schema = schemas[name]
        discriminator = schema.get("discriminator")
        if not discriminator or any(key in schema for key in ("allOf", "oneOf", "anyOf")):
            continue
        prop = discriminator["propertyName"]
        mapping = dict(discriminator.get("mapping") or {})
        base_name = f"{name}Base"
        schemas[base_name] = {key: value for key, value in schema.items() if key != "discriminator"}
        base_ref, new_ref = f"#/components/schemas/{name}", f"#/components/schemas/{base_name}"
        for target in mapping.values():
            for part in schemas[target.rsplit("/", 1)[-1]].get("allOf", []):
                if part.get("$ref") == base_ref:
                    part["$ref"] = new_ref
        # openapi-schema-validator falls back to "#/components/schemas/<value>" for an unmapped
        # value: a value naming a component (even this one: endless recursion) must not resolve.
        total = {other: "#/components/schemas/AnyValue" for other in names if other not in mapping}
        total.update(mapping)
        schemas[name] = {
            "type": "object",
            "required": [prop],
            "properties": {prop: {"type": "string", "enum": sorted(mapping)}},
            "oneOf": [{"$ref": target} for target in dict.fromkeys(mapping.values())],
            "discriminator": {"propertyName": prop, "mapping": total},
        }
    schemas["AnyValue"] = {}


def _prepare(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    _serve_anywhere(spec)
    _dispatch_discriminators(spec["components"]["schemas"])
    return spec


@functools.cache
def messaging_api() -> OpenAPI:
    """LINE's Messaging API spec, ready to validate requests (built once per process)."""
    return OpenAPI.from_dict(_prepare(_load(MESSAGING_SPEC)))


@functools.cache
def webhook_api() -> OpenAPI:
    """LINE's webhook spec (what the platform POSTs to a bot), to check the events the fake builds."""
    return OpenAPI.from_dict(_prepare(_load(WEBHOOK_SPEC)))


# Validating --------------------------------------------------------------------------------------


def validate(
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = "",
) -> Checked:
    """Every reason LINE would refuse this request, by its spec and by its documented limits."""
    api = messaging_api()
    try:
        found = APICallPathFinder(api.spec).find(method.lower(), HOST_URL + path)
    except PathNotFound:
        return Checked(None, problems=[Problem("", "no such endpoint in the Messaging API")], status=404)
    except OperationNotFound:
        return Checked(None, problems=[Problem("", f"{method.upper()} is not allowed here")], status=405)
    operation_id = str(found.operation["operationId"])
    path_params = dict(found.path_result.variables)
    request = _Request(
        method=method.lower(),
        path=path,
        parameters=RequestParameters(
            query=ImmutableMultiDict(dict(query or {})), header=Headers(dict(headers)), path=dict(path_params)
        ),
        body=body if body else None,
        content_type=content_type or "application/octet-stream",
    )
    problems = [problem for error in api.iter_request_errors(request) for problem in _problems(error)]
    if content_type.startswith("application/json") and body:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            problems += limit_problems(operation_id, document)
    return Checked(operation_id, path_params, problems)


def validate_webhook_body(body: bytes) -> list[Problem]:
    """Problems with a webhook body ({"destination", "events"}) by LINE's webhook spec."""
    request = _Request(
        method="post",
        path="/callback",
        parameters=RequestParameters(),
        body=body,
        content_type="application/json",
    )
    return [problem for error in webhook_api().iter_request_errors(request) for problem in _problems(error)]


def _problems(error: Exception) -> Iterator[Problem]:
    """openapi-core's exceptions, flattened to one Problem per schema error."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    name, location = getattr(error, "name", None), getattr(error, "location", None)
    where = f"{location} {name}" if name else ""
    if schema_errors:
        for schema_error in schema_errors:
            if schema_error.message.endswith("could not be resolved"):
                continue  # an unknown discriminator value: its enum error says it better
            spot = _json_path(schema_error.absolute_path)
            yield Problem(where if name else spot, _describe(schema_error))
        return
    detail = str(cause or error) or type(cause or error).__name__
    yield Problem(where, f"{type(error).__name__}: {detail}" if detail != type(error).__name__ else detail)


def _json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _describe(error: Any) -> str:
    """A jsonschema error without the instance dumped into it (a 14-item list reads badly)."""
    kind, limit, instance = error.validator, error.validator_value, error.instance
    if kind in ("maxItems", "minItems") and isinstance(instance, list):
        return f"{len(instance)} items, {'at most' if kind == 'maxItems' else 'at least'} {limit} allowed"
    if kind in ("maxLength", "minLength") and isinstance(instance, str):
        return f"{len(instance)} characters, {'at most' if kind == 'maxLength' else 'at least'} {limit} allowed"
    if kind == "enum":
        return f"{_short(repr(instance))} is not one of {limit}"
    return _short(error.message)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Limits the spec file does not state (checked by hand) --------------------------------------------


def utf16_length(text: str) -> int:
    """LINE counts message text in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def grapheme_length(text: str) -> int:
    """LINE counts labels in grapheme clusters. Python has no UAX #29 segmenter without extra
    packages, so this approximates one: combining and spacing marks (Thai vowels and tone marks,
    SARA AM), variation selectors, skin tones and whatever follows a zero-width joiner extend the
    cluster before them, and regional indicators pair up into flags."""
    count, after_joiner, open_flag = 0, False, False
    for char in text:
        code = ord(char)
        extends = (
            after_joiner
            or unicodedata.category(char) in ("Mn", "Mc", "Me")
            or char in "\u0e33\u0eb3\u200d"
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F
        )
        regional = 0x1F1E6 <= code <= 0x1F1FF
        if regional and open_flag:
            extends, open_flag = True, False
        elif regional:
            open_flag = True
        else:
            open_flag = False
        if not extends or count == 0:
            count += 1
        after_joiner = char == "\u200d"
    return count


def limit_problems(operation_id: str, document: dict[str, Any]) -> list[Problem]:
    """Documented LINE limits missing from messaging-api.yml, for one parsed JSON body."""
    problems: list[Problem] = []
    if operation_id in MESSAGE_OPERATIONS and isinstance(document.get("messages"), list):
        problems += _message_problems(document["messages"])
    if operation_id == "pushMessage":
        # The spec only says `to` is a string; LINE answers 400 to anything but a user/group/room id.
        to = document.get("to")
        if isinstance(to, str) and not PUSH_TO.match(to):
            problems.append(Problem("to", f"{_short(repr(to), 60)} is not a user, group or room id"))
    if operation_id == "multicast" and isinstance(document.get("to"), list):
        for index, to in enumerate(document["to"]):
            if isinstance(to, str) and not MULTICAST_TO.match(to):
                problems.append(Problem(f"to[{index}]", f"{_short(repr(to), 60)} is not a user id"))
    if operation_id in RICH_MENU_OPERATIONS and isinstance(document.get("areas"), list):
        for index, area in enumerate(document["areas"]):
            if isinstance(area, dict) and isinstance(area.get("action"), dict):
                problems += _action_problems(area["action"], f"areas[{index}].action", LABEL_MAX)
    return problems


def _message_problems(messages: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        where = f"messages[{index}]"
        kind = message.get("type")
        text = message.get("text")
        if kind in ("text", "textV2") and isinstance(text, str):
            # Not in the spec: TextMessage.text has no length limits there.
            if not text:
                problems.append(Problem(f"{where}.text", "may not be empty"))
            elif utf16_length(text) > TEXT_MAX:
                problems.append(Problem(f"{where}.text", f"{utf16_length(text)} characters, at most {TEXT_MAX}"))
        if kind in ("flex", "template"):
            alt = message.get("altText")
            if isinstance(alt, str) and not 1 <= utf16_length(alt) <= ALT_TEXT_MAX:
                problems.append(Problem(f"{where}.altText", f"must be 1 to {ALT_TEXT_MAX} characters"))
        if kind == "flex":
            contents = message.get("contents")
            problems += _nested_action_problems(contents, f"{where}.contents", FLEX_LABEL_MAX)
            if isinstance(contents, dict) and contents.get("type") == "carousel":
                bubbles = contents.get("contents")
                if isinstance(bubbles, list) and len(bubbles) > CAROUSEL_BUBBLES_MAX:
                    problems.append(Problem(
                        f"{where}.contents.contents", f"{len(bubbles)} bubbles, at most {CAROUSEL_BUBBLES_MAX}"
                    ))
        if kind == "template":
            problems += _nested_action_problems(message.get("template"), f"{where}.template", LABEL_MAX)
        quick_reply = message.get("quickReply")
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        for number, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("action"), dict):
                spot = f"{where}.quickReply.items[{number}].action"
                problems += _action_problems(item["action"], spot, LABEL_MAX, label_required=True)
    return problems


def _nested_action_problems(node: Any, where: str, label_max: int) -> list[Problem]:
    """Every action object anywhere under `node` (Flex boxes nest deeply)."""
    problems: list[Problem] = []
    if isinstance(node, dict):
        for key, value in node.items():
            spot = f"{where}.{key}"
            if key in ("action", "defaultAction") and isinstance(value, dict):
                problems += _action_problems(value, spot, label_max)
            elif key == "actions" and isinstance(value, list):
                for index, action in enumerate(value):
                    if isinstance(action, dict):
                        problems += _action_problems(action, f"{spot}[{index}]", label_max)
            else:
                problems += _nested_action_problems(value, spot, label_max)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            problems += _nested_action_problems(value, f"{where}[{index}]", label_max)
    return problems


def _action_problems(action: dict[str, Any], where: str, label_max: int, label_required: bool = False) -> list[Problem]:
    """Not in the spec: Action.label has no maxLength there, nor do message text / displayText."""
    problems: list[Problem] = []
    label = action.get("label")
    if isinstance(label, str) and grapheme_length(label) > label_max:
        problems.append(Problem(f"{where}.label", f"{grapheme_length(label)} characters, at most {label_max}"))
    elif label_required and not label:
        problems.append(Problem(f"{where}.label", "required in a quick reply button"))
    kind = action.get("type")
    display = action.get("displayText")
    if kind == "postback" and isinstance(display, str) and not 1 <= grapheme_length(display) <= ACTION_TEXT_MAX:
        problems.append(Problem(f"{where}.displayText", f"must be 1 to {ACTION_TEXT_MAX} characters"))
    if kind == "message":
        text = action.get("text")
        if not isinstance(text, str) or not 1 <= grapheme_length(text) <= ACTION_TEXT_MAX:
            problems.append(Problem(f"{where}.text", f"required, 1 to {ACTION_TEXT_MAX} characters"))
    return problems
