"""Thai text normalisation applied to questions and passages alike.

rapidfuzz's default processor drops every non-alphanumeric character, which for Thai removes the
vowels and tone marks that carry the meaning; everything here keeps Thai letters intact and is used
as the processor instead.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pythainlp.corpus import thai_stopwords
from pythainlp.corpus.common import thai_words
from pythainlp.tokenize import word_tokenize
from pythainlp.util import Trie, dict_trie, thai_digit_to_arabic_digit

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
TONE_MARKS = dict.fromkeys(map(ord, "\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e47"))  # ่ ้ ๊ ๋ ์ ็
SPACES = re.compile(r"\s+")
PUNCTUATION = re.compile(r"[\"'“”‘’?!.,:;()\[\]{}<>/\\|*_=+~`^#@$%&…•·-]+")

# Everyday words and abbreviations → the words the documents use. The original word is kept as well.
ABBREVIATIONS: dict[str, str] = {
    "คอม": "คอมพิวเตอร์",
    "คอมพ์": "คอมพิวเตอร์",
    "pc": "คอมพิวเตอร์",
    "computer": "คอมพิวเตอร์",
    "เน็ต": "อินเทอร์เน็ต เครือข่าย",
    "เน็ท": "อินเทอร์เน็ต เครือข่าย",
    "internet": "อินเทอร์เน็ต",
    "network": "เครือข่าย",
    "lan": "เครือข่าย",
    "wifi": "เครือข่าย ไร้สาย",
    "ไวไฟ": "เครือข่าย ไร้สาย",
    "จนท": "เจ้าหน้าที่",
    "จนท.": "เจ้าหน้าที่",
    "รพ": "โรงพยาบาล",
    "รพ.": "โรงพยาบาล",
    "สสจ": "สำนักงานสาธารณสุขจังหวัด",
    "สสจ.": "สำนักงานสาธารณสุขจังหวัด",
    "ปริ้นเตอร์": "เครื่องพิมพ์",
    "ปริ้นท์เตอร์": "เครื่องพิมพ์",
    "ปริ้น": "เครื่องพิมพ์ พิมพ์",
    "printer": "เครื่องพิมพ์",
    "พาส": "รหัสผ่าน",
    "พาสเวิร์ด": "รหัสผ่าน",
    "password": "รหัสผ่าน",
    "user": "ผู้ใช้งาน บัญชี",
    "ยูสเซอร์": "ผู้ใช้งาน บัญชี",
    "ยูเซอร์": "ผู้ใช้งาน บัญชี",
    "account": "บัญชี ผู้ใช้งาน",
    "แอคเคาท์": "บัญชี",
    "backup": "สำรองข้อมูล",
    "แบ็คอัพ": "สำรองข้อมูล",
    "แบคอัพ": "สำรองข้อมูล",
    "server": "เครื่องแม่ข่าย",
    "เซิร์ฟเวอร์": "เครื่องแม่ข่าย",
    "เซิฟเวอร์": "เครื่องแม่ข่าย",
    "เซิฟ": "เครื่องแม่ข่าย",
    "แอนตี้ไวรัส": "antivirus",
    "antivirus": "ไวรัส",
    "ยูพีเอส": "ups",
    "เว็บ": "เว็บไซต์",
    "web": "เว็บไซต์",
    "website": "เว็บไซต์",
    "ไอที": "เทคโนโลยีสารสนเทศ",
    "it": "เทคโนโลยีสารสนเทศ",
    "approve": "อนุมัติ",
    "อนุมัต": "อนุมัติ",
    "upload": "อัปโหลด นำขึ้น",
    "อัพโหลด": "อัปโหลด นำขึ้น",
    "อัพเดท": "ปรับปรุง",
    "update": "ปรับปรุง",
    "meeting": "ประชุม",
    "budget": "งบประมาณ",
    "kpi": "ตัวชี้วัด",
    "email": "อีเมล",
    "e-mail": "อีเมล",
    "เมล์": "อีเมล",
    "his": "hosxp",
    "hosxp": "hosxp",
    "sop": "คู่มือ มาตรฐานการปฏิบัติงาน",
    "ict": "เทคโนโลยีสารสนเทศ",
    "pdpa": "คุ้มครองข้อมูลส่วนบุคคล",
    "cybersecurity": "ความมั่นคงปลอดภัยไซเบอร์",
    "ไซเบอร์": "ความมั่นคงปลอดภัยไซเบอร์",
    "ma": "บำรุงรักษา",
    "training": "อบรม",
    "เทรนนิ่ง": "อบรม",
    "staff": "บุคลากร เจ้าหน้าที่",
    "สตาฟ": "บุคลากร เจ้าหน้าที่",
    "phishing": "ฟิชชิง",
    "วอร์ด": "หอผู้ป่วย",
    "ward": "หอผู้ป่วย",
    "install": "ติดตั้ง",
    "อินสตอล": "ติดตั้ง",
    "request": "เสนอ ขอ",
    "เคลียร์": "ชดใช้ ส่งใช้ คืน",
    "inform": "แจ้ง",
    "link": "เว็บไซต์ ลิงก์",
    "ลิ้งค์": "ลิงก์ เว็บไซต์",
    "ลิงค์": "ลิงก์ เว็บไซต์",
    "report": "รายงาน",
    "รีพอร์ต": "รายงาน",
    "ไฟล์": "แฟ้ม ไฟล์",
    "file": "ไฟล์ แฟ้ม",
    "ทดรอง": "ทดรองราชการ",
    "หัวหน้า": "หัวหน้ากลุ่มงาน",
    "แอดมิน": "ผู้ดูแลระบบ",
    "admin": "ผู้ดูแลระบบ",
    "webmaster": "เว็บมาสเตอร์ ผู้ดูแลเว็บไซต์",
    "เว็บมาสเตอร์": "webmaster ผู้ดูแลเว็บไซต์",
}

# Chat particles and function words that say nothing about the topic (pythainlp's list, minus words
# that do carry a topic in these documents, plus chat particles).
KEEP_WORDS = frozenset({"วัน", "ครั้ง", "ใช้", "เข้า", "ปี", "เดือน", "ระบบ", "ข้อมูล", "งาน", "ผู้", "ส่ง",
                        "ราย", "ประจำ", "ทุก", "ภายใน", "ไม่"})
CHAT_WORDS = frozenset({"ครับ", "ค่ะ", "คะ", "คับ", "ฮะ", "จ้า", "จ้ะ", "นะ", "หน่อย", "ช่วย", "บอก", "ทีครับ", "ที",
                        "อยากรู้", "อยาก", "รู้", "สอบถาม", "ถาม", "หรอ", "เหรอ", "มั้ย", "ไหม", "มั๊ย", "ป่าว",
                        "เปล่า", "ยังไง", "อย่างไร", "ไง", "ต้อง", "แค่ไหน", "เท่าไร", "เท่าไหร่", "กี่", "อะไร",
                        "บ้าง", "ได้", "คือ", "เป็น", "ว่า", "ของ", "เรา", "ผม", "ฉัน", "หนู", "ดิฉัน", "เค้า",
                        "พี่", "น้อง", "ทำ", "ควร", "เรียน", "ขอทราบ", "ทราบ", "ผู้ใด", "ใด", "อะ", "อ่ะ", "เลย",
                        "ด้วย", "นี้", "นั้น", "ค้บ", "ครับผม", "จ๊ะ", "น่ะ", "นะคะ", "เนี่ย", "ตอนนี้",
                        "ใคร", "ไหน", "ที่ไหน", "เมื่อไหร่", "เมื่อไร", "ไร", "หรือ", "กับ", "และ", "ให้", "ขอ",
                        "ตัว", "เรียนถาม", "ทั้งหมด", "ทั้ง", "มี", "จะ", "ต้องการ", "อยู่", "ไป", "มา", "เรื่อง",
                        "น่าจะ", "ไหมคะ", "ไหมครับ", "มั้ยครับ", "มั้ยคะ", "แล้ว", "ยัง", "ก็"})
# Thai words that name a role or an act ("ผู้อนุมัติ", "การประชุม") match the bare verb too.
PREFIXES = ("ผู้", "การ", "ความ", "นัก")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset((set(thai_stopwords()) - KEEP_WORDS) | CHAT_WORDS)


def normalize(text: str) -> str:
    """Unicode NFC, no zero-width characters, Arabic digits, เเ→แ, lower case, single spaces."""
    text = unicodedata.normalize("NFC", text).translate(ZERO_WIDTH)
    text = thai_digit_to_arabic_digit(text)
    text = text.replace("เเ", "แ").replace("\u0e4d\u0e32", "\u0e33")  # two sara e; nikhahit + sara aa = sara am
    return SPACES.sub(" ", text.casefold()).strip()


def without_tone_marks(text: str) -> str:
    """People type Thai without tone marks on phones; the character index ignores them on both sides."""
    return text.translate(TONE_MARKS)


@lru_cache(maxsize=1)
def _dictionary() -> Trie:
    """pythainlp's word list plus our abbreviations, so "สสจ" or "จนท" stay one word."""
    extra = {key.rstrip(".") for key in ABBREVIATIONS if not key.isascii()}
    return dict_trie(set(thai_words()) | extra)


@lru_cache(maxsize=4096)
def _tokenize(text: str) -> tuple[str, ...]:
    return tuple(word_tokenize(text, custom_dict=_dictionary(), engine="newmm", keep_whitespace=False))


def words(text: str) -> list[str]:
    """Normalised words (pythainlp newmm), punctuation dropped; stopwords kept."""
    cleaned = PUNCTUATION.sub(" ", normalize(text))
    return [w for w in _tokenize(cleaned) if w.strip()]


def expand(tokens: list[str]) -> list[str]:
    """Tokens plus what their everyday abbreviations stand for, and bare verbs of role words."""
    out: list[str] = []
    for token in tokens:
        out.append(token)
        expansion = ABBREVIATIONS.get(token) or ABBREVIATIONS.get(token + ".")
        if expansion:
            for word in expansion.split():
                out.extend(words(word))
        for prefix in PREFIXES:
            if token.startswith(prefix) and len(token) > len(prefix) + 2:
                out.append(token[len(prefix) :])
    return out


def content_words(text: str) -> list[str]:
    """The words of a question that name its topic: normalised, expanded, stopwords removed."""
    return [w for w in expand(words(text)) if w not in stopwords() and not w.isspace()]


def char_ngrams(text: str, n: int = 3) -> list[str]:
    """Character n-grams of the tone-stripped text, spaces removed (Thai writes no spaces between words)."""
    compact = without_tone_marks(PUNCTUATION.sub("", normalize(text))).replace(" ", "")
    if len(compact) < n:
        return [compact] if compact else []
    return [compact[i : i + n] for i in range(len(compact) - n + 1)]
