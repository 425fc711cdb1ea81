"""Every SOP answer the bot gave, and whether the person said it helped (for the admin and the KPI
"knowledge-base deflection")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime

QUESTION_MAX = 500


class SopAnswer(Base):
    __tablename__ = "sop_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), nullable=True)
    # The question as asked (personal data: purged with the other conversation texts).
    question: Mapped[str] = mapped_column(String(QUESTION_MAX))
    found: Mapped[bool] = mapped_column(Boolean)
    passage_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def record_answer(
    session: Session, now: datetime, staff_id: int | None, question: str, found: bool, passage_ids: list[str],
    score: float,
) -> SopAnswer:
    row = SopAnswer(asked_at=now, staff_id=staff_id, question=question[:QUESTION_MAX], found=found,
                    passage_ids=passage_ids, score=score)
    session.add(row)
    session.flush()  # the id goes into the feedback buttons
    return row


def record_feedback(session: Session, answer_id: int, staff_id: int, helpful: bool, now: datetime) -> bool:
    """Only the person who asked, and only once: a second tap or someone else's tap changes nothing."""
    changed = session.execute(
        update(SopAnswer)
        .where(SopAnswer.id == answer_id, SopAnswer.staff_id == staff_id, SopAnswer.helpful.is_(None))
        .values(helpful=helpful, feedback_at=now)
    ).rowcount
    return bool(changed)
