"""Short, extractive, cited answers; an honest "not found" below the calibrated confidence.

An answer only ever repeats the cited passage's own fields, so it cannot state a number or a
duration that the passage does not. A question that asks for a kind of fact (a place, an amount,
a duration, a date...) is only answered by a passage that contains that kind of fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.corpus import Passage
from knowledge.facts import FactKind, kinds_asked, states
from knowledge.search import Hit, KnowledgeBase

# Calibrated on tests/kb_eval (see knowledge/evaluate.py): the lowest confidence at which answers
# stay right while out-of-scope and near-miss questions are still refused.
CONFIDENCE_THRESHOLD = 0.58
SECOND_OPINION_MARGIN = 0.12  # another agency's passage this close to the best one is shown too
MAX_TEXT = 700

@dataclass(frozen=True)
class Citation:
    source: str  # the document's code or short title
    section: str
    title: str
    agency: str
    step: str
    passage_id: str

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "section": self.section}


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    text: str
    citations: tuple[Citation, ...] = ()
    score: float = 0.0
    hits: tuple[Hit, ...] = field(default=(), repr=False)


def _answers(hit: Hit, kinds: list[FactKind], threshold: float) -> bool:
    return hit.confidence >= threshold and all(states(hit.passage, kind) for kind in kinds)


def answer(kb: KnowledgeBase, question: str, threshold: float = CONFIDENCE_THRESHOLD,
           ranker: str = "combined") -> Answer:
    hits = tuple(kb.search(question, limit=8, ranker=ranker))
    kinds = kinds_asked(question)
    # A passage far below the best match is not an answer just because it holds the kind of fact asked.
    floor = max(threshold, (hits[0].confidence if hits else 0.0) - SECOND_OPINION_MARGIN)
    usable = [hit for hit in hits if _answers(hit, kinds, floor)]
    if not usable:
        best = hits[0].confidence if hits else 0.0
        return Answer(question, False, "", (), round(best, 4), hits)
    chosen = [usable[0]]
    for hit in usable[1:]:
        if hit.passage.document.agency != chosen[0].passage.document.agency and (
            hit.confidence >= chosen[0].confidence - SECOND_OPINION_MARGIN
        ) and kinds:
            chosen.append(hit)  # two agencies answer the same kind of fact: say who says what
            break
    text = "\n\n".join(_render(hit.passage, second=index > 0) for index, hit in enumerate(chosen))
    citations = tuple(_cite(hit.passage) for hit in chosen)
    return Answer(question, True, text, citations, chosen[0].confidence, hits)


def _cite(passage: Passage) -> Citation:
    doc = passage.document
    return Citation(doc.code, passage.section, passage.title, doc.agency_short, passage.step, passage.id)


def _render(passage: Passage, second: bool = False) -> str:
    if passage.is_faq:
        return f"{_clip(passage.text)}\n(ที่มา: {passage.document.code})"
    doc = passage.document
    where = f"ข้อ {passage.section} " if passage.section else ""
    step = f" ขั้นตอนที่ {passage.step}" if passage.step else ""
    lead = "ส่วน" if second else "ตาม"
    lines = [f"{lead} {doc.code} ({doc.agency_short}) {where}{passage.title}{step}:", _clip(passage.text)]
    if passage.schedule and passage.schedule not in passage.text:
        lines.append(f"ความถี่: {passage.schedule}")
    if passage.time and passage.time not in passage.text:
        lines.append(f"ระยะเวลา: {passage.time}")
    if passage.roles and not all(role in passage.text for role in passage.roles):
        lines.append(f"ผู้รับผิดชอบ: {', '.join(passage.roles)}")
    return "\n".join(lines)


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    cut = text[:MAX_TEXT].rsplit(" ", 1)[0]
    return cut + " …"
