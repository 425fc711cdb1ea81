"""Kinds of fact a question can ask for (a place, an amount, a duration, a date...), how a
question asks for each, and what a passage must contain to state it. A passage that does not state
the kind of fact asked cannot answer the question, however well its topic matches."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.corpus import Passage
from knowledge.normalize import normalize

_DURATION_UNITS = r"(นาที|ชั่วโมง|ชม\.?|วัน|สัปดาห์|อาทิตย์|เดือน|ปี)"
_MONTHS = (r"(ม\.ค|ก\.พ|มี\.ค|เม\.ย|พ\.ค|มิ\.ย|ก\.ค|ส\.ค|ก\.ย|ต\.ค|พ\.ย|ธ\.ค|มกรา|กุมภา|มีนา|เมษา|พฤษภา|มิถุนา|"
           r"กรกฎา|สิงหา|กันยา|ตุลา|พฤศจิกา|ธันวา)")


@dataclass(frozen=True)
class FactKind:
    """A kind of fact a question asks for, and what a passage must contain to state it."""

    name: str
    asked: re.Pattern[str]
    stated: re.Pattern[str]


FACT_KINDS = (
    FactKind("place", re.compile(r"ห้องไหน|ห้องอะไร|ที่ไหน|ตึกไหน|อาคารไหน|ชั้นไหน|ชั้นอะไร|สถานที่|where"),
             re.compile(r"ห้อง|อาคาร|ตึก|ชั้น \d|สถานที่|(?<![\u0e01-\u0e4f])ณ |https?://|www\.|\.go\.th|\.com")),
    FactKind("money", re.compile(r"กี่บาท|บาท|ราคา|ค่าใช้จ่าย|ค่าธรรมเนียม|วงเงิน|กี่ตังค์|เงินเท่า"),
             re.compile(r"บาท|วงเงิน")),
    FactKind("contact", re.compile(r"เบอร์|โทร|อีเมล.*(อะไร|ไหน)|line\s*id|ไลน์ไอดี"),
             re.compile(r"\d{2,3}[- ]?\d{3}[- ]?\d{3,4}|โทร\.? ?\d|ต่อ \d{2,}|@\w|line\s*id")),
    FactKind("version", re.compile(r"ยี่ห้อ|รุ่นไหน|รุ่นอะไร|version|เวอร์ชั่?น"),
             re.compile(r"ยี่ห้อ|รุ่น|version|เวอร์ชั่?น")),
    FactKind("count", re.compile(r"กี่\s*(ตัว|เครื่อง|คน|ชุด|ตู้|จุด|license|ไลเซนส์|แห่ง|ราย|ท่าน|ระบบ|ขั้นตอน|ข้อ|หมวด)"),
             re.compile(r"\d[\d,]*\s*(ตัว|เครื่อง|คน|ชุด|ตู้|จุด|license|แห่ง|ราย|ท่าน|ระบบ|ขั้นตอน|ข้อ|หมวด|lisence)")),
    FactKind("duration", re.compile(r"(ภายใน)?\s*กี่\s*(วัน|นาที|ชั่วโมง|ชม|สัปดาห์|เดือน|ปี)|นานแค่ไหน|นานเท่า\S*|"
                                    r"นานไหม|ใช้เวลา(เท่า\S*|นานไหม|กี่\S*)?|ภายในกี่|ระยะเวลา"),
             re.compile(r"\d[\d,.]*\s*" + _DURATION_UNITS + r"|ทันที|ภายในวัน")),
    FactKind("frequency", re.compile(r"บ่อยแค่ไหน|บ่อยไหม|กี่ครั้ง|ปีละกี่|เดือนละกี่|ทุกกี่|ถี่แค่ไหน|how often"),
             re.compile(r"ครั้ง|ทุก ?\S|ละ ?\d|ประจำ(วัน|สัปดาห์|เดือน|ปี|ไตรมาส)|ราย(วัน|สัปดาห์|เดือน|ปี|ไตรมาส)|"
                        r"สัปดาห์ละ|เดือนละ|ปีละ")),
    FactKind("date", re.compile(r"วันที่เท่า\S*|วันไหน|เมื่อไห?ร่?|เมื่อไร|กำหนดส่ง|deadline|เดือนไหน|เดือนอะไร|ช่วงไหน"),
             re.compile(r"\d+\s*" + _MONTHS + r"|" + _MONTHS + r"\S*\s*\d{4}|วันที่ \d|ภายในวัน|วันทำการ|"
                        r"ปีงบประมาณ|ไตรมาส|ทุกวัน|ต้นเดือน|สิ้นเดือน|สิ้นปี")),
)




def kinds_asked(question: str) -> list[FactKind]:
    asked = normalize(question)
    return [kind for kind in FACT_KINDS if kind.asked.search(asked)]


def without_asking_words(question: str) -> str:
    """The question minus the words that only say what kind of fact is wanted ("กี่วัน",
    "บ่อยแค่ไหน"): they name no topic, and a passage need not contain them to answer."""
    text = normalize(question)
    for kind in FACT_KINDS:
        text = kind.asked.sub(" ", text)
    return text


def states(passage: Passage, kind: FactKind) -> bool:
    facts = " ".join([passage.text, passage.time, passage.schedule])
    if kind.name == "duration" and passage.time:
        return True
    return bool(kind.stated.search(normalize(facts)))
