"""The rich menu: LINE accepts its definition and image, and its buttons match the menu."""

from __future__ import annotations

import struct

from bot.line_api import LineApi
from bot.richmenu import HEIGHT, IMAGE_KEYS, WIDTH, definition, image_bytes
from handlers import postback
from handlers.menu import ITEMS, MENU_ACTION
from tests.conftest import ACCESS_TOKEN


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_deploy_passes_line_openapi_checks(line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=5.0)
    try:
        menu_id = api.deploy_rich_menu(definition(), image_bytes())
    finally:
        api.close()
    assert menu_id
    assert line.violations == []


def test_areas_tile_the_image_without_overlap():
    menu = definition()
    assert menu["size"] == {"width": WIDTH, "height": HEIGHT} == {"width": 2500, "height": 843}
    assert menu["selected"] is True
    assert menu["chatBarText"] == "เมนู"
    covered = 0
    for area in menu["areas"]:
        b = area["bounds"]
        assert b["x"] >= 0 and b["y"] >= 0
        assert b["x"] + b["width"] <= WIDTH and b["y"] + b["height"] <= HEIGHT
        covered += b["width"] * b["height"]
    assert covered == WIDTH * HEIGHT  # six tiles, no gaps, no overlaps


def test_each_area_starts_a_menu_item_with_a_short_label():
    areas = definition()["areas"]
    expected = ITEMS.values()[:6]
    assert len(areas) == len(expected) == 6
    for area, item in zip(areas, expected, strict=True):
        action = area["action"]
        assert action["type"] == "postback"
        assert len(action["label"]) <= 20
        assert postback.decode(action["data"]).action == MENU_ACTION
        assert postback.decode(action["data"]).params == {"i": item.key}


def test_committed_image_shows_the_current_menu_items():
    """The PNG is drawn once; if the menu changes, rerun bot.richmenu.render_image()."""
    assert tuple(item.key for item in ITEMS.values()[:6]) == IMAGE_KEYS


def test_image_is_a_small_png_of_the_menu_size():
    data = image_bytes()
    assert _png_size(data) == (WIDTH, HEIGHT)
    assert len(data) < 1024 * 1024  # LINE's limit is 1 MB; we stay well below it


def test_a_second_deploy_deletes_the_menu_it_replaced(line):
    """LINE keeps every menu created (1,000 at most per channel): a deploy leaves only the new one."""
    other = line.state.create_rich_menu({**definition(), "name": "someone-elses-menu"})
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=5.0)
    try:
        first = api.deploy_rich_menu(definition(), image_bytes())
        second = api.deploy_rich_menu(definition(), image_bytes())
    finally:
        api.close()
    assert first != second
    assert set(line.state.rich_menus) == {second, other}  # another tool's menu is left alone
    assert line.state.default_rich_menu == second
