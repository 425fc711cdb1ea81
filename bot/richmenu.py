"""The LINE rich menu: six buttons under the chat that start the same services as the menu.

The image is a committed static file (bot/static/richmenu.png), so serving and deploying need no
imaging library. `render_image()` redraws it when the menu items change; it is only ever run by
hand (it needs Pillow and a Thai font, neither of which the app depends on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.menu import ITEMS, MENU_ACTION
from handlers.messages import postback_action

WIDTH, HEIGHT = 2500, 843  # LINE's "compact" full-width size
COLUMNS, ROWS = 3, 2
IMAGE_PATH = Path(__file__).with_name("static") / "richmenu.png"
# The menu keys drawn on the committed image, in tile order; a test keeps them in step with ITEMS.
IMAGE_KEYS = ("report", "account", "website", "ask", "track", "help")


def _edges(total: int, parts: int) -> list[int]:
    return [round(total * i / parts) for i in range(parts + 1)]


def tile_bounds() -> list[dict[str, int]]:
    """Row by row, left to right; the last column/row absorbs rounding so tiles cover the image."""
    xs, ys = _edges(WIDTH, COLUMNS), _edges(HEIGHT, ROWS)
    return [
        {"x": xs[c], "y": ys[r], "width": xs[c + 1] - xs[c], "height": ys[r + 1] - ys[r]}
        for r in range(ROWS)
        for c in range(COLUMNS)
    ]


def definition() -> dict[str, Any]:
    """The rich menu object LINE's create-rich-menu endpoint expects."""
    items = ITEMS.values()[: COLUMNS * ROWS]
    areas = [
        {"bounds": bounds, "action": postback_action(item.label, MENU_ACTION, i=item.key)}
        for item, bounds in zip(items, tile_bounds(), strict=False)
    ]
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": "helpdesk-main-menu",
        "chatBarText": "เมนู",
        "areas": areas,
    }


def image_bytes() -> bytes:
    return IMAGE_PATH.read_bytes()


# Drawing (manual only) ----------------------------------------------------------------------------

_TILE_COLOURS = ("#DDEFEA", "#DCE9F5", "#EDE6F4", "#F8EBDC", "#E2EFDA", "#E6E9EE")
_ACCENTS = ("#2F7F78", "#3A6E9E", "#6E5A9A", "#A86B2D", "#4F7F3A", "#5A6675")
_INK = "#23363F"
_SUBTLE = "#51656E"
_FONT_DIR = Path("/usr/share/fonts/truetype/tlwg")  # Debian: fonts-thai-tlwg
# Item titles are sentences for messages; tiles get a few words that fit under the label.
_SUBTITLES = {
    "report": "ระบบขัดข้อง เครื่องเสีย",
    "account": "เปิด ปรับ ยกเลิกสิทธิ์",
    "website": "เผยแพร่ข่าว ประกาศ",
    "ask": "ตามคู่มือปฏิบัติงาน",
    "track": "คำขอของฉัน",
    "help": "บอทช่วยอะไรได้บ้าง",
}


def render_image(path: Path = IMAGE_PATH, font_dir: Path = _FONT_DIR) -> Path:
    """Redraw the menu image from ITEMS. By hand only, with Pillow installed:
    `python -c "import bot.richmenu as r; r.render_image()"`."""
    from PIL import Image, ImageDraw, ImageFont  # a tool-time dependency only, never at run time

    label_font = ImageFont.truetype(str(font_dir / "Loma-Bold.ttf"), 92)
    title_font = ImageFont.truetype(str(font_dir / "Loma.ttf"), 46)
    mark_font = ImageFont.truetype(str(font_dir / "Loma-Bold.ttf"), 70)
    image = Image.new("RGB", (WIDTH, HEIGHT), "#F5F7F6")
    draw = ImageDraw.Draw(image)
    items = ITEMS.values()[: COLUMNS * ROWS]
    for index, (item, bounds) in enumerate(zip(items, tile_bounds(), strict=False)):
        x, y, w, h = bounds["x"], bounds["y"], bounds["width"], bounds["height"]
        pad = 14
        draw.rounded_rectangle(
            (x + pad, y + pad, x + w - pad, y + h - pad), radius=36, fill=_TILE_COLOURS[index % 6]
        )
        cx = x + w // 2
        # A numbered disc: calm, legible at phone size, and needs no emoji font.
        r = 58
        cy = y + 118
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_ACCENTS[index % 6])
        draw.text((cx, cy), str(index + 1), font=mark_font, fill="white", anchor="mm")
        draw.text((cx, y + 262), item.label, font=label_font, fill=_INK, anchor="mm")
        subtitle = _SUBTITLES.get(item.key) or item.title[:24]
        draw.text((cx, y + 355), subtitle, font=title_font, fill=_SUBTLE, anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
