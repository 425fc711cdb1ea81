"""The yearly review of accounts and rights (SOP 000 §6.6: at least once a year): each supervisor
confirms every account of their staff (keep, change, revoke); the result is a record per system
with who confirmed what and when."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.accounts import APPROVED, AccountEntry, AccountRequest
from models.approvals import supervisor_of
from models.base import Base, UTCDateTime
from models.numbering import BANGKOK, next_number
from models.org import Staff, System, staff_with_role
from models.thai_dates import thai_datetime

DECISIONS = {"keep": "คงไว้", "change": "ปรับสิทธิ์", "revoke": "ยกเลิก"}


class ReviewCampaign(Base):
    __tablename__ = "review_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)  # Buddhist Era
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewItem(Base):
    __tablename__ = "review_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("review_campaign.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id"))
    rights: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    request_number: Mapped[str] = mapped_column(String(20), default="")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)

    supervisor: Mapped[Staff] = relationship(foreign_keys=[supervisor_id])
    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    system: Mapped[System] = relationship()
    decided_by: Mapped[Staff | None] = relationship(foreign_keys=[decided_by_id])
    escalated_to: Mapped[Staff | None] = relationship(foreign_keys=[escalated_to_id])


def campaign_due(now: datetime, month_day: str) -> int | None:
    """The BE year whose review should have started by now ("10-01": 1 October), else None."""
    local = now.astimezone(BANGKOK)
    month, day = (int(part) for part in month_day.split("-"))
    start = local.replace(month=month, day=day, hour=0, minute=0, second=0, microsecond=0)
    return local.year + 543 if local >= start else None


def start_campaign(session: Session, year: int, now: datetime, due_in: timedelta) -> ReviewCampaign | None:
    """Items for every active account of active staff, each with its reviewer; once per year."""
    if session.scalar(select(ReviewCampaign).where(ReviewCampaign.year == year)) is not None:
        return None
    campaign = ReviewCampaign(year=year, started_at=now, due_at=now + due_in)
    session.add(campaign)
    session.flush()
    admins = staff_with_role(session, "admin")
    entries = session.scalars(select(AccountEntry).where(AccountEntry.active.is_(True)))
    for entry in entries:
        staff = session.get(Staff, entry.staff_id)
        if staff is None or not staff.active:
            continue
        reviewer = supervisor_of(staff) or next((a for a in admins if a.id != staff.id), None)
        if reviewer is None:
            continue
        session.add(ReviewItem(campaign_id=campaign.id, supervisor_id=reviewer.id, staff_id=staff.id,
                               system_id=entry.system_id, rights=entry.rights))
    session.flush()
    audit.record(session, now, "review.started", subject=str(year))
    return campaign


def items_for(session: Session, campaign: ReviewCampaign, reviewer: Staff, undecided_only: bool = True
              ) -> list[ReviewItem]:
    stmt = select(ReviewItem).where(
        ReviewItem.campaign_id == campaign.id,
        or_(ReviewItem.supervisor_id == reviewer.id, ReviewItem.escalated_to_id == reviewer.id),
    )
    if undecided_only:
        stmt = stmt.where(ReviewItem.decision.is_(None))
    return list(session.scalars(stmt.order_by(ReviewItem.id)))


def reviewers(session: Session, campaign: ReviewCampaign) -> list[Staff]:
    ids = session.scalars(select(ReviewItem.supervisor_id).where(ReviewItem.campaign_id == campaign.id).distinct())
    return [s for s in (session.get(Staff, i) for i in ids) if s is not None]


def decide(session: Session, item_id: int, reviewer: Staff, decision: str, now: datetime) -> ReviewItem | None:
    """Once per item, by its reviewer (or the one it was escalated to). A change or revoke opens an
    already-approved task for the system's owner. None when refused."""
    if decision not in DECISIONS:
        return None
    changed = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.decision.is_(None),
               or_(ReviewItem.supervisor_id == reviewer.id, ReviewItem.escalated_to_id == reviewer.id))
        .values(decision=decision, decided_at=now, decided_by_id=reviewer.id)
    ).rowcount
    item = session.get(ReviewItem, item_id)
    if not changed or item is None:
        return None
    session.refresh(item)
    if decision != "keep":
        campaign = session.get(ReviewCampaign, item.campaign_id)
        request = AccountRequest(
            number=next_number(session, "ACC", now), requester_id=reviewer.id, subject_id=item.staff_id,
            system_id=item.system_id, action=decision, rights="",
            reason=f"ทบทวนบัญชีและสิทธิ์ประจำปี {campaign.year if campaign else ''}: {DECISIONS[decision]}",
            state=APPROVED, created_at=now,
        )
        session.add(request)
        session.flush()
        item.request_number = request.number
    audit.record(session, now, "review.decided", subject=f"{item.staff.code}/{item.system.code}",
                 actor_id=reviewer.id, decision=decision)
    return item


def overdue(session: Session, now: datetime, remind_every: timedelta) -> tuple[list[Staff], list[ReviewItem]]:
    """Reviewers to remind (weekly while items wait) and items just escalated after the due date."""
    remind: dict[int, Staff] = {}
    escalated: list[ReviewItem] = []
    for campaign in session.scalars(select(ReviewCampaign)):
        for item in session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id,
                                                             ReviewItem.decision.is_(None))):
            if now >= campaign.due_at and item.escalated_to_id is None:
                boss = supervisor_of(item.supervisor)
                if boss is not None and boss.id != item.staff_id:
                    item.escalated_to_id = boss.id
                    escalated.append(item)
                    continue
            if (item.reminded_at or campaign.started_at) + remind_every <= now:
                item.reminded_at = now
                # Once escalated, the reminders go to the one it was escalated to.
                target = item.escalated_to or item.supervisor
                remind[target.id] = target
    if escalated:
        audit.record(session, now, "review.escalated", items=len(escalated))
    return list(remind.values()), escalated


def to_csv(session: Session, year: int) -> str:
    """The review record of one year, a line per account, dates in the Buddhist Era."""

    campaign = session.scalar(select(ReviewCampaign).where(ReviewCampaign.year == year))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ปี", "รหัสเจ้าหน้าที่", "ชื่อ", "ระบบ", "สิทธิ์", "ผู้ทบทวน", "ผลการทบทวน", "ยืนยันโดย",
                     "วันที่ยืนยัน", "เลขคำขอ"])
    if campaign is None:
        return out.getvalue()
    for item in session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id)
                                .order_by(ReviewItem.id)):
        when = thai_datetime(item.decided_at) if item.decided_at else ""
        writer.writerow([year, item.staff.code, item.staff.name, item.system.name, item.rights,
                         item.supervisor.name, DECISIONS.get(item.decision or "", "ยังไม่ทบทวน"),
                         item.decided_by.name if item.decided_by else "", when, item.request_number])
    return out.getvalue()
