"""Slack's Block Kit limits as a test-side validator, shared by the fake Slack and the unit tests.

`assert_valid_message` checks a message payload (`text`, `blocks`, `attachments`) the way Slack
refuses one with `invalid_blocks`: block count and types, text object types and lengths, element
counts, button text/URL/value lengths, action and block ids unique within the message, and a
fallback `text` whenever there are blocks. It is written from Slack's documented limits, not from
the renderer, so that it can catch the renderer's mistakes. `mrkdwn_texts` lists every mrkdwn
string of a message, for escaping checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ID = 255

_BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text", "input"}
_TEXT_TYPES = {"plain_text", "mrkdwn"}
_BUTTON_STYLES = {"primary", "danger"}


def _fail(where: str, problem: str) -> None:
    raise AssertionError(f"{where}: {problem}")


def _check_text(obj: Any, where: str, *, limit: int, types: set[str] = _TEXT_TYPES) -> None:
    if not isinstance(obj, dict):
        _fail(where, f"text object must be an object, got {obj!r}")
    if obj.get("type") not in types:
        _fail(where, f"text type {obj.get('type')!r} not in {sorted(types)}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        _fail(where, "text must be a non-empty string")
    if len(text) > limit:
        _fail(where, f"text is {len(text)} characters, limit {limit}")


def _check_url(url: Any, where: str) -> None:
    if not isinstance(url, str) or not url:
        _fail(where, "url must be a non-empty string")
    if len(url) > MAX_URL:
        _fail(where, f"url is {len(url)} characters, limit {MAX_URL}")
    if not url.lower().startswith(("http://", "https://")):
        _fail(where, f"url must be http(s): {url[:80]!r}")
    if any(c.isspace() for c in url):
        _fail(where, "url contains whitespace")


def _check_element(element: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(element, dict):
        _fail(where, "element must be an object")
    if element.get("type") != "button":
        return  # the app only sends buttons; other elements are not checked in depth
    _check_text(element.get("text"), f"{where}.text", limit=MAX_BUTTON_TEXT, types={"plain_text"})
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= MAX_ID:
            _fail(where, f"bad action_id {action_id!r}")
        if action_id in action_ids:
            _fail(where, f"duplicate action_id {action_id!r}")
        action_ids.add(action_id)
    if "url" in element:
        _check_url(element["url"], f"{where}.url")
    if "value" in element and (
        not isinstance(element["value"], str) or len(element["value"]) > MAX_BUTTON_VALUE
    ):
        _fail(where, "button value must be a string of at most 2000 characters")
    if "accessibility_label" in element:
        spoken = element["accessibility_label"]
        if not isinstance(spoken, str) or not 0 < len(spoken) <= MAX_BUTTON_TEXT:
            _fail(where, "accessibility_label must be a string of 1 to 75 characters")
    if "style" in element and element["style"] not in _BUTTON_STYLES:
        _fail(where, f"bad button style {element['style']!r}")


def _check_block(block: Any, where: str, action_ids: set[str], block_ids: set[str]) -> None:
    if not isinstance(block, dict):
        _fail(where, "block must be an object")
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        _fail(where, f"unknown block type {kind!r}")
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not 0 < len(block_id) <= MAX_ID:
            _fail(where, f"bad block_id {block_id!r}")
        if block_id in block_ids:
            _fail(where, f"duplicate block_id {block_id!r}")
        block_ids.add(block_id)
    if kind == "header":
        _check_text(block.get("text"), f"{where}.text", limit=MAX_HEADER_TEXT, types={"plain_text"})
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            _fail(where, "a section needs text or fields")
        if "text" in block:
            _check_text(block["text"], f"{where}.text", limit=MAX_SECTION_TEXT)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
            _fail(where, "at most 10 fields")
        for n, obj in enumerate(fields):
            _check_text(obj, f"{where}.fields[{n}]", limit=MAX_FIELD_TEXT)
        if "accessory" in block:
            _check_element(block["accessory"], f"{where}.accessory", action_ids)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
            _fail(where, "a context needs 1 to 10 elements")
        for n, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                continue
            _check_text(element, f"{where}.elements[{n}]", limit=MAX_SECTION_TEXT)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= MAX_ACTIONS_ELEMENTS:
            _fail(where, "an actions block needs 1 to 25 elements")
        for n, element in enumerate(elements):
            _check_element(element, f"{where}.elements[{n}]", action_ids)


def assert_valid_message(message: dict[str, Any]) -> None:
    """Raise AssertionError, naming the place, if Slack would refuse or mangle `message`."""
    if not isinstance(message, dict):
        _fail("message", "must be an object")
    blocks = message.get("blocks")
    if isinstance(blocks, str):  # form-encoded Web API calls carry blocks as a JSON string
        blocks = json.loads(blocks)
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        _fail("text", "must be a string")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        _fail("text", f"is {len(text)} characters, limit {MAX_MESSAGE_TEXT}")
    if blocks is None:
        if not (text and text.strip()) and not message.get("attachments"):
            _fail("message", "needs text, blocks or attachments")
        return
    if not isinstance(blocks, list):
        _fail("blocks", "must be a list")
    if not blocks and not (text and text.strip()):
        _fail("message", "empty")
    if blocks and not (text and text.strip()):
        _fail("text", "a message with blocks needs a plain-text fallback `text`")
    if len(blocks) > MAX_BLOCKS:
        _fail("blocks", f"{len(blocks)} blocks, limit {MAX_BLOCKS}")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        _check_block(block, f"blocks[{n}]", action_ids, block_ids)
    json.dumps(message)  # must be serialisable as it is


def iter_text_objects(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every text object in the message's blocks (headers, sections, contexts, buttons)."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") in _TEXT_TYPES and isinstance(node.get("text"), str):
                yield node
                return
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(message.get("blocks", []))


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn: the fallback text and the mrkdwn text objects."""
    texts = [obj["text"] for obj in iter_text_objects(message) if obj["type"] == "mrkdwn"]
    return [message.get("text", ""), *texts]


def button_urls(message: dict[str, Any]) -> list[str]:
    """The URLs of every link button in the message."""
    urls: list[str] = []
    for block in message.get("blocks", []):
        elements = [block.get("accessory")] if block.get("accessory") else []
        elements += block.get("elements", []) if block.get("type") == "actions" else []
        urls += [e["url"] for e in elements if isinstance(e, dict) and "url" in e]
    return urls


#: the most blocks a modal or Home tab view may hold
MAX_VIEW_BLOCKS = 100


def assert_valid_view(view: dict[str, Any]) -> None:
    """Raise AssertionError if Slack would refuse `view` (a `home` view) in `views.publish`."""
    if not isinstance(view, dict):
        _fail("view", "must be an object")
    if view.get("type") != "home":
        _fail("view.type", f"must be 'home', got {view.get('type')!r}")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        _fail("view.blocks", "must be a non-empty list")
    if len(blocks) > MAX_VIEW_BLOCKS:
        _fail("view.blocks", f"{len(blocks)} blocks, limit {MAX_VIEW_BLOCKS}")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        _check_block(block, f"view.blocks[{n}]", action_ids, block_ids)
    json.dumps(view)
