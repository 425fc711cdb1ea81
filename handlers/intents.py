"""Requests are not questions: a message that asks the helpdesk to act goes to that service's
dialog; only what remains is searched in the SOPs."""

from __future__ import annotations

import re

from knowledge.normalize import normalize

# A question about how things are done ("ต้องทำยังไง", "กี่วัน") is for the SOPs, even when it
# names a service; a plain statement or plea ("HOSxP เข้าไม่ได้", "ขอสิทธิ์ HOSxP หน่อย") is a request.
QUESTION = re.compile(
    r"ยังไง|อย่างไร|ทำไง|แบบไหน|บ่อยแค่ไหน|แค่ไหน|กี่|เมื่อไห?ร่?|เมื่อไร|ใครเป็น|ใครทำ|ใครรับผิดชอบ|หรือเปล่า|"
    r"ขั้นตอน|วิธี|ต้องทำ|ตามคู่มือ|sop|\?"
)
TRACK = re.compile(r"\b(inc|acc|web)-\d{4}-\d{1,6}\b|ติดตาม|สถานะคำขอ|สถานะงาน|ถึงไหนแล้ว|เรื่องที่แจ้ง.*(ยัง|ไป)|"
                   r"งานของฉัน|เรื่องของฉัน|คำขอของฉัน")
ACCOUNT = re.compile(
    r"ขอ\s*(เปิด|เพิ่ม|ปรับ|เปลี่ยน|ยกเลิก|ปิด)?\s*(สิทธิ|user|ยูส|บัญชี|account|แอคเคา|รหัส|พาส|password)|"
    r"รีเซ็ตรหัส|reset\s*pass|ลืมรหัส|ลืมพาส|ลืม\s*password|เข้าระบบไม่ได้เพราะรหัส"
)
WEBSITE = re.compile(
    r"(ขอ|ช่วย|อยาก)\s*(ลง|ขึ้น|โพสต์|โพส|ประกาศ|เผยแพร่|อัพ|อัป|เอา).{0,20}(เว็บ|website|หน้าเว็บ)|ขอลงข่าว|ลงข่าวหน่อย"
)
OUTAGE = re.compile(
    r"เข้าไม่ได้|ใช้ไม่ได้|ใช้งานไม่ได้|ล่ม|เสีย(?!ง|ใจ|สละ|ชีวิต)|ค้าง(?!ชำระ|จ่าย)|ช้ามาก|error|เออเร่อ|เอเร่อ|ไม่ติด|ดับ|พัง|"
    r"(ปริ้น|ปริ้นท์|พิมพ์|print)\S*\s*ไม่ออก|เปิดไม่ขึ้น|หลุด|\bdown\b|แจ้งซ่อม|แจ้งปัญหา|ไม่ทำงาน|ขึ้นจอฟ้า|จอฟ้า|"
    r"ไวรัส|โดนแฮก|timeout|time out"
)

# Menu keys (handlers.menu) each request kind starts.
ACTIONS = (("track", TRACK), ("account", ACCOUNT), ("website", WEBSITE), ("report", OUTAGE))


def is_question(text: str) -> bool:
    return bool(QUESTION.search(normalize(text)))


def requested_service(text: str) -> str | None:
    """The menu key of the service this message asks for, or None when it is a question or chatter."""
    said = normalize(text)
    if TRACK.search(said):
        return "track"  # "ติดตาม INC-2570-0001" is never an SOP question
    if is_question(said):
        return None
    for key, pattern in ACTIONS:
        if pattern.search(said):
            return key
    return None


def related_service(text: str) -> str | None:
    """For a question: the service it is about, offered as a button beside the answer."""
    said = normalize(text)
    for key, pattern in ACTIONS:
        if pattern.search(said):
            return key
    return None
