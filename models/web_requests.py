"""Website publication requests (WEB-…), as the provincial announcement prescribes (seed 003):
the form's fields, approval by the head of the requester's work group, a webmaster publishes and
posts the URL back, and the item is taken down when its time is over (§2.2, §3.1, §3.2)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.base import Base, UTCDateTime
from models.numbering import BANGKOK, next_number
from models.org import Staff, WorkGroup, staff_with_role
from models.thai_dates import thai_date

# §1 of the announcement: where on the website an item goes.
CATEGORIES: dict[str, str] = {
    "agency": "ข้อมูลหน่วยงาน",
    "law": "กฎหมาย ระเบียบ ข้อบังคับ",
    "knowledge": "องค์ความรู้",
    "links": "เว็บไซต์ที่เกี่ยวข้อง",
    "oia": "ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ",
    "sop": "คู่มือการปฏิบัติงาน (SOP)",
    "citizen": "คู่มือสำหรับประชาชน",
    "news": "ข่าวประชาสัมพันธ์ จัดซื้อจัดจ้าง รับสมัครงาน",
    "eservice": "บริการอิเล็กทรอนิกส์ (e-Service)",
    "stats": "สถิติและความพึงพอใจ",
}
AWAITING_APPROVAL, APPROVED, REJECTED, TAKEN, PUBLISHED, TAKEN_DOWN = (
    "awaiting_approval", "approved", "rejected", "taken", "published", "taken_down")
STATE_NAMES = {AWAITING_APPROVAL: "รออนุมัติ", APPROVED: "อนุมัติแล้ว รอผู้ดูแลเว็บไซต์", REJECTED: "ไม่อนุมัติ",
               TAKEN: "ผู้ดูแลเว็บไซต์รับเรื่องแล้ว", PUBLISHED: "เผยแพร่แล้ว", TAKEN_DOWN: "นำออกจากเว็บไซต์แล้ว"}
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MIN_WEBMASTERS = 2  # §3.1


class WebRequest(Base):
    __tablename__ = "web_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    work_group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id"), nullable=True)
    request_date: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)  # LINE message ids of files/images
    link: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(300), default="")  # the owner or source of the information
    notes: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    publish_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no end date
    state: Mapped[str] = mapped_column(String(20), default=AWAITING_APPROVAL)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval.id"), nullable=True)
    verbal_by: Mapped[str] = mapped_column(String(200), default="")  # head who approved verbally (urgent)
    webmaster_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_url: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expiry_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    taken_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    taken_down_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    requester: Mapped[Staff] = relationship(foreign_keys=[requester_id])
    work_group: Mapped[WorkGroup | None] = relationship()
    webmaster: Mapped[Staff | None] = relationship(foreign_keys=[webmaster_id])
    taken_down_by: Mapped[Staff | None] = relationship(foreign_keys=[taken_down_by_id])

    @property
    def category_name(self) -> str:
        return CATEGORIES.get(self.category, self.category)

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


def valid_url(text: str) -> bool:
    return bool(URL.match(text.strip())) and len(text.strip()) <= 500


def missing_fields(fields: dict) -> list[str]:
    """What §2.2 needs before a request may go: current and complete content, its source or owner
    named, and its dates. Names the missing fields in Thai."""
    missing = []
    if len(str(fields.get("title", "")).strip()) < 5:
        missing.append("ชื่อเรื่อง")
    if len(str(fields.get("details", "")).strip()) < 20 and not fields.get("attachments") and not fields.get("link"):
        missing.append("รายละเอียดหรือไฟล์แนบ")
    if not str(fields.get("source", "")).strip():
        missing.append("ที่มาหรือเจ้าของข้อมูล")
    if fields.get("category") not in CATEGORIES:
        missing.append("หมวดบนเว็บไซต์")
    return missing


def create(session: Session, requester: Staff, fields: dict, now: datetime) -> WebRequest:
    row = WebRequest(
        number=next_number(session, "WEB", now), requester_id=requester.id, work_group_id=requester.work_group_id,
        request_date=now.astimezone(BANGKOK).date(), title=str(fields["title"])[:300],
        details=str(fields.get("details", ""))[:5000], attachments=list(fields.get("attachments", [])),
        link=str(fields.get("link", ""))[:500], source=str(fields.get("source", ""))[:300],
        notes=str(fields.get("notes", ""))[:2000], category=fields["category"],
        publish_days=fields.get("days"), state=AWAITING_APPROVAL, created_at=now,
    )
    session.add(row)
    session.flush()
    from models.tickets import TicketPhoto  # the shared store of content fetched from LINE

    for message_id in row.attachments:
        session.add(TicketPhoto(web_request_id=row.id, message_id=message_id[:32], kind="web", created_at=now))
    audit.record(session, now, "web.requested", subject=row.number, actor_id=requester.id)
    return row


def by_number(session: Session, number: str) -> WebRequest | None:
    return session.scalar(select(WebRequest).where(WebRequest.number == number.upper()))


def settle_decision(session: Session, request: WebRequest, approved: bool, verbal_by: str = "") -> bool:
    values: dict = {"state": APPROVED if approved else REJECTED}
    if verbal_by:
        values["verbal_by"] = verbal_by[:200]
    return bool(session.execute(update(WebRequest).where(WebRequest.id == request.id,
                                                         WebRequest.state == AWAITING_APPROVAL).values(**values)
                                ).rowcount)


def take(session: Session, number: str, webmaster: Staff, now: datetime) -> WebRequest | None:
    """The first webmaster to take an approved request has it; None for everyone after."""
    request = by_number(session, number)
    if request is None:
        return None
    changed = session.execute(update(WebRequest).where(WebRequest.id == request.id, WebRequest.state == APPROVED)
                              .values(state=TAKEN, webmaster_id=webmaster.id, taken_at=now)).rowcount
    session.refresh(request)
    if changed:
        audit.record(session, now, "web.taken", subject=request.number, actor_id=webmaster.id)
    return request if changed else None


def publish(session: Session, number: str, webmaster: Staff, url: str, now: datetime) -> WebRequest | None:
    request = by_number(session, number)
    if request is None or not valid_url(url):
        return None
    expires = (now.astimezone(BANGKOK).date() + timedelta(days=request.publish_days)
               if request.publish_days else None)
    changed = session.execute(
        update(WebRequest).where(WebRequest.id == request.id, WebRequest.state == TAKEN,
                                 WebRequest.webmaster_id == webmaster.id)
        .values(state=PUBLISHED, published_url=url.strip(), published_at=now, expires_on=expires)
    ).rowcount
    session.refresh(request)
    if changed:
        audit.record(session, now, "web.published", subject=request.number, actor_id=webmaster.id, url=url.strip())
    return request if changed else None


def take_down(session: Session, number: str, webmaster: Staff, now: datetime) -> WebRequest | None:
    request = by_number(session, number)
    if request is None:
        return None
    changed = session.execute(update(WebRequest).where(WebRequest.id == request.id, WebRequest.state == PUBLISHED)
                              .values(state=TAKEN_DOWN, taken_down_at=now, taken_down_by_id=webmaster.id)).rowcount
    session.refresh(request)
    if changed:
        audit.record(session, now, "web.taken_down", subject=request.number, actor_id=webmaster.id)
    return request if changed else None


def expired(session: Session, now: datetime) -> list[WebRequest]:
    """Published items whose end date has come, reported once each (§3.2)."""
    today = now.astimezone(BANGKOK).date()
    found = []
    for row in session.scalars(select(WebRequest).where(WebRequest.state == PUBLISHED,
                                                        WebRequest.expires_on.is_not(None),
                                                        WebRequest.expiry_reminded_at.is_(None))):
        if row.expires_on is not None and row.expires_on <= today:
            row.expiry_reminded_at = now
            found.append(row)
    return found


def webmasters(session: Session) -> list[Staff]:
    return staff_with_role(session, "webmaster")


def yearly_csv(session: Session, fiscal_year: int) -> str:
    """Every request of a Thai fiscal year (BE) with its outcome."""
    def when(moment: datetime | None) -> str:
        return thai_date(moment) if moment else ""

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["เลขที่", "วันที่ขอ", "ผู้ขอ", "กลุ่มงาน", "เรื่อง", "หมวด", "สถานะ", "ผู้ดูแลเว็บไซต์",
                     "วันที่เผยแพร่", "URL", "สิ้นสุด"])
    prefix = f"WEB-{fiscal_year}-"
    for row in session.scalars(select(WebRequest).where(WebRequest.number.startswith(prefix))
                               .order_by(WebRequest.id)):
        writer.writerow([row.number, when(row.created_at), row.requester.name,
                         row.work_group.name if row.work_group else "", row.title, row.category_name,
                         row.state_name, row.webmaster.name if row.webmaster else "", when(row.published_at),
                         row.published_url, row.expires_on.isoformat() if row.expires_on else ""])
    return out.getvalue()
