"""Importing the organisation file: validation with line numbers, and an idempotent upsert."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import models  # noqa: F401  (registers every table for create_all and the snapshot)
from models.audit import AuditEntry
from models.base import Base
from models.db import make_engine, make_session_factory, transaction
from models.org import Organization, Staff, System, WorkGroup, get_setting, staff_by_code
from models.org_import import (
    ImportReport,
    OrgFileError,
    import_org,
    import_org_file,
    load_org_file,
    parse_org_text,
)
from models.registration import issue_code, redeem

SAMPLE = Path(__file__).with_name("data") / "org.example.yaml"
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
T2 = T0 + timedelta(days=2)
NEWCOMER = "U0123456789abcdef0123456789abcdef"
S001_LINE = "U798df8d1c24a97ced3d593b243e34e2e"
S021_LINE = "U531af49b0dccf1bfeb9c3b46d1d4f42e"


@pytest.fixture
def orgdb_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def orgdb_loaded(orgdb_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The sample organisation imported once at T0."""
    with transaction(orgdb_factory) as s:
        import_org_file(s, SAMPLE, T0)
    return orgdb_factory


def edit_line(line_no: int, old: str, new: str, text: str = SAMPLE_TEXT) -> str:
    """The sample with one replacement on one (1-based) line, so expected line numbers are known."""
    lines = text.split("\n")
    assert old in lines[line_no - 1], f"{old!r} not on line {line_no}: {lines[line_no - 1]!r}"
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    return "\n".join(lines)


def drop_line(line_no: int, text: str = SAMPLE_TEXT) -> str:
    lines = text.split("\n")
    del lines[line_no - 1]
    return "\n".join(lines)


def insert_after(line_no: int, block: str, text: str = SAMPLE_TEXT) -> str:
    lines = text.split("\n")
    lines[line_no:line_no] = block.rstrip("\n").split("\n")
    return "\n".join(lines)


def import_text(factory: sessionmaker[Session], text: str, tmp_path: Path, now: datetime) -> ImportReport:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    with transaction(factory) as s:
        return import_org_file(s, path, now)


def snapshot(factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove an import changed nothing."""
    with factory() as s:
        return {
            table.name: sorted(tuple(row) for row in s.execute(select(table)).all())
            for table in Base.metadata.sorted_tables
        }


def test_sample_file_parses() -> None:
    data = load_org_file(SAMPLE)
    assert data.organization_name == "โรงพยาบาลตัวอย่าง จังหวัดน่าน"
    assert [g.code for g in data.work_groups] == ["DIR", "DIGI", "NURS", "PHAR", "ADMN"]
    assert len(data.staff) == 10
    assert data.it_target == "Cd6bf1887c21e694656297a89590734c2"


def test_import_sample_creates_everything(orgdb_factory: sessionmaker[Session]) -> None:
    with transaction(orgdb_factory) as s:
        report = import_org_file(s, SAMPLE, T0)
    # 1 organization + 5 groups + 10 staff + 22 roles + 5 systems + 1 setting
    assert report == ImportReport(created=44, updated=0, unchanged=0)
    assert "44 created" in report.summary()
    with orgdb_factory() as s:
        assert s.scalar(select(Organization.name)) == "โรงพยาบาลตัวอย่าง จังหวัดน่าน"
        assert s.scalar(select(func.count()).select_from(WorkGroup)) == 5
        assert s.scalar(select(func.count()).select_from(Staff)) == 10
        kanda = staff_by_code(s, "S010")
        assert kanda is not None
        assert kanda.roles == {"staff", "supervisor", "it", "webmaster", "admin"}
        assert kanda.supervisor is not None and kanda.supervisor.code == "S001"
        assert kanda.work_group is not None and kanda.work_group.code == "DIGI"
        assert kanda.created_at == T0 and kanda.updated_at == T0 and kanda.active
        somsak = staff_by_code(s, "S022")
        assert somsak is not None and somsak.line_user_id is None
        assert somsak.supervisor_id is None  # default (head of NURS) is resolved at use time
        heads = {g.code: g.head.code for g in s.scalars(select(WorkGroup)) if g.head}
        assert heads == {"DIR": "S001", "DIGI": "S010", "NURS": "S020", "PHAR": "S030", "ADMN": "S040"}
        owners = {system.code: system.owner.code for system in s.scalars(select(System)) if system.owner}
        assert owners == {"HOSXP": "S010", "EDOC": "S011", "EMAIL": "S011", "AD": "S011", "WIFI": "S011"}
        assert get_setting(s, "notify.it_target") == "Cd6bf1887c21e694656297a89590734c2"
        audit = s.scalars(select(AuditEntry)).all()
        assert [(a.action, a.detail["created"]) for a in audit] == [("org.import", 44)]


def test_importing_twice_changes_nothing(orgdb_loaded: sessionmaker[Session]) -> None:
    before = snapshot(orgdb_loaded)
    with transaction(orgdb_loaded) as s:
        report = import_org_file(s, SAMPLE, T1)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 44)
    assert "nothing changed" in report.summary()
    assert snapshot(orgdb_loaded) == before  # no updated_at churn, no second audit entry


def test_changed_name_is_updated(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    text = edit_line(14, "นางสาวมาลี ผู้ป่วยใน", "นางมาลี ผู้ป่วยใน")
    report = import_text(orgdb_loaded, text, tmp_path, T1)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 43)
    with orgdb_loaded() as s:
        malee, kanda = staff_by_code(s, "S021"), staff_by_code(s, "S010")
        assert malee is not None and kanda is not None
        assert malee.name == "นางมาลี ผู้ป่วยใน" and malee.updated_at == T1 and malee.created_at == T0
        assert kanda.updated_at == T0
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert audit[-1].at == T1 and audit[-1].detail["updated"] == 1


def test_roles_are_replaced_exactly_and_staff_is_implied(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    text = edit_line(12, "roles: [staff, it, webmaster]", "roles: [hr]")
    report = import_text(orgdb_loaded, text, tmp_path, T1)
    # hr created; it and webmaster removed, and the staff row itself (updated_at) counts as updated
    assert (report.created, report.updated) == (1, 3)
    with orgdb_loaded() as s:
        thana = staff_by_code(s, "S011")
        assert thana is not None and thana.roles == {"staff", "hr"} and thana.updated_at == T1


def test_supervisor_head_owner_and_it_target_follow_the_file(
    orgdb_loaded: sessionmaker[Session], tmp_path: Path
) -> None:
    text = edit_line(11, ", supervisor: S001", "")  # S010 loses the explicit supervisor
    text = edit_line(6, "head: S020", "head: S021", text)
    text = edit_line(21, "owner: S010", "owner: S011", text)
    text = drop_line(26, drop_line(27, text))  # no notify section
    report = import_text(orgdb_loaded, text, tmp_path, T1)
    assert (report.created, report.updated) == (0, 4)
    with orgdb_loaded() as s:
        kanda = staff_by_code(s, "S010")
        assert kanda is not None and kanda.supervisor_id is None
        assert s.scalar(select(WorkGroup).where(WorkGroup.code == "NURS")).head.code == "S021"
        assert s.scalar(select(System).where(System.code == "HOSXP")).owner.code == "S011"
        assert get_setting(s, "notify.it_target") is None


def test_new_staff_with_new_group_is_created(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    text = insert_after(8, "  - {code: LAB, name: กลุ่มงานเทคนิคการแพทย์, head: S050}")
    text = insert_after(
        20,
        "  - code: S050\n    name: นายใหม่ แล็บ\n    work_group: LAB\n    roles: [supervisor]\n    supervisor: S001",
        text,
    )
    report = import_text(orgdb_loaded, text, tmp_path, T1)
    assert (report.created, report.updated) == (4, 0)  # group, staff, roles staff + supervisor
    with orgdb_loaded() as s:
        new = staff_by_code(s, "S050")
        assert new is not None and new.roles == {"staff", "supervisor"} and new.position == ""
        assert new.supervisor.code == "S001" and new.work_group.head_id == new.id
        assert new.created_at == T1 and new.updated_at == T1


def test_missing_staff_is_deactivated_then_reactivated(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    report = import_text(orgdb_loaded, drop_line(15), tmp_path, T1)  # S022 left
    assert (report.created, report.updated, report.deactivated) == (0, 1, 1)
    assert "1 staff not in the file marked inactive" in report.summary()
    with orgdb_loaded() as s:
        somsak = staff_by_code(s, "S022")
        assert somsak is not None and not somsak.active
        assert somsak.roles == {"staff"} and somsak.updated_at == T1  # history kept
    again = import_text(orgdb_loaded, drop_line(15), tmp_path, T2)
    assert (again.created, again.updated) == (0, 0)
    back = import_text(orgdb_loaded, SAMPLE_TEXT, tmp_path, T2)
    assert (back.created, back.updated, back.deactivated) == (0, 1, 0)
    with orgdb_loaded() as s:
        somsak = staff_by_code(s, "S022")
        assert somsak is not None and somsak.active and somsak.updated_at == T2


def test_bound_line_id_survives_reimport(orgdb_loaded: sessionmaker[Session]) -> None:
    with transaction(orgdb_loaded) as s:
        code = issue_code(s, staff_by_code(s, "S022"), T1)
        assert redeem(s, NEWCOMER, code, T1).staff is not None
    with transaction(orgdb_loaded) as s:
        report = import_org_file(s, SAMPLE, T2)
    assert (report.created, report.updated) == (0, 0)
    with orgdb_loaded() as s:
        assert staff_by_code(s, "S022").line_user_id == NEWCOMER


def test_line_id_in_file_overrides(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    report = import_text(orgdb_loaded, edit_line(14, S021_LINE, NEWCOMER), tmp_path, T1)
    assert report.updated == 1
    with orgdb_loaded() as s:
        assert staff_by_code(s, "S021").line_user_id == NEWCOMER


def test_line_ids_can_swap_between_listed_staff(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    text = edit_line(10, S001_LINE, S021_LINE)
    text = edit_line(14, S021_LINE, S001_LINE, text)
    report = import_text(orgdb_loaded, text, tmp_path, T1)
    assert report.updated == 2
    with orgdb_loaded() as s:
        assert staff_by_code(s, "S001").line_user_id == S021_LINE
        assert staff_by_code(s, "S021").line_user_id == S001_LINE


def test_line_id_bound_to_another_staff_is_refused(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    with transaction(orgdb_loaded) as s:
        staff_by_code(s, "S022").line_user_id = NEWCOMER  # bound by registration code
    before = snapshot(orgdb_loaded)
    path = tmp_path / "org.yaml"
    path.write_text(edit_line(14, S021_LINE, NEWCOMER), encoding="utf-8")
    data = load_org_file(path)  # the file alone is fine
    with pytest.raises(OrgFileError) as caught, transaction(orgdb_loaded) as s:
        import_org(s, data, T1)
    assert (caught.value.line, caught.value.field) == (14, "staff[5].line_user_id")
    assert str(caught.value) == (
        f"line 14, staff[5].line_user_id: LINE account {NEWCOMER} is already bound to staff S022 in the database"
    )
    assert snapshot(orgdb_loaded) == before


def test_broken_file_changes_nothing(orgdb_loaded: sessionmaker[Session], tmp_path: Path) -> None:
    before = snapshot(orgdb_loaded)
    # Valid up to the last system, so a partial import would have changed names and groups.
    text = edit_line(14, "นางสาวมาลี", "นางมาลี")
    text = edit_line(25, "owner: S011", "owner: S999", text)
    with pytest.raises(OrgFileError, match=r"^line 25, systems\[5\]\.owner: unknown staff code 'S999'$"):
        import_text(orgdb_loaded, text, tmp_path, T1)
    assert snapshot(orgdb_loaded) == before


_FLOW_ITEM = "  - code: S050\n    name: นายใหม่ ทดสอบ\n    work_group: NURS\n    roles: [staff, boss]"

# One variant per two lines, read as a table.
# fmt: off
BROKEN: list[tuple[str, Callable[[], str], int | None, str, str]] = [
    ("unknown work group", lambda: edit_line(12, "work_group: DIGI", "work_group: XYZ"),
     12, "staff[3].work_group", "unknown work group 'XYZ'"),
    ("duplicate staff code", lambda: edit_line(12, "code: S011", "code: S010"),
     12, "staff[3].code", "duplicate staff code 'S010' (first used on line 11)"),
    ("duplicate work group code", lambda: edit_line(7, "code: PHAR", "code: NURS"),
     7, "work_groups[4].code", "duplicate work group code 'NURS'"),
    ("bad role", lambda: edit_line(14, "roles: [staff]", "roles: [staff, nurse]"),
     14, "staff[5].roles[2]", "unknown role 'nurse'"),
    ("roles not a list", lambda: edit_line(14, "roles: [staff]", "roles: it"),
     14, "staff[5].roles", "must be a list of roles"),
    ("roles empty", lambda: edit_line(14, "roles: [staff]", "roles: []"),
     14, "staff[5].roles", "at least one role"),
    ("bad line id", lambda: edit_line(14, S021_LINE, S021_LINE.upper()),
     14, "staff[5].line_user_id", "is not a LINE user id"),
    ("duplicate line id", lambda: edit_line(14, S021_LINE, S001_LINE),
     14, "staff[5].line_user_id", "duplicate line_user_id"),
    ("unknown key", lambda: edit_line(15, "position:", "postion:"),
     15, "staff[6].postion", "unknown key 'postion'"),
    ("duplicate key", lambda: edit_line(15, "roles: [staff]", "roles: [staff], name: ซ้ำ"),
     15, "staff[6].name", "appears twice"),
    ("missing name", lambda: edit_line(13, "name: นางพรทิพย์ หัวหน้าพยาบาล, ", ""),
     13, "staff[4].name", "is required"),
    ("empty name", lambda: edit_line(13, "name: นางพรทิพย์ หัวหน้าพยาบาล,", "name: '  ',"),
     13, "staff[4].name", "must not be empty"),
    ("name not text", lambda: edit_line(13, "name: นางพรทิพย์ หัวหน้าพยาบาล,", "name: [a, b],"),
     13, "staff[4].name", "must be text, not a list"),
    ("missing organization name", lambda: edit_line(2, "{name: โรงพยาบาลตัวอย่าง จังหวัดน่าน}", "{}"),
     2, "organization.name", "is required"),
    ("self supervisor", lambda: edit_line(13, "supervisor: S001", "supervisor: S020"),
     13, "staff[4].supervisor", "own supervisor"),
    ("supervisor loop", lambda: edit_line(10, "roles:", "supervisor: S010, roles:"),
     10, "staff[1].supervisor", "loop: S001 -> S010 -> S001"),
    ("unknown supervisor", lambda: edit_line(13, "supervisor: S001", "supervisor: S002"),
     13, "staff[4].supervisor", "unknown staff code 'S002'"),
    ("unknown head", lambda: edit_line(5, "head: S010", "head: S999"),
     5, "work_groups[2].head", "unknown staff code 'S999'"),
    ("unknown owner", lambda: edit_line(22, "owner: S011", "owner: S999"),
     22, "systems[2].owner", "unknown staff code 'S999'"),
    ("bad it_target", lambda: edit_line(27, "Cd6bf", "Ud6bf"),
     27, "notify.it_target", "not a LINE group or room id"),
    ("unknown top-level key", lambda: SAMPLE_TEXT + "sytems: []\n",
     28, "sytems", "unknown key 'sytems'"),
    ("staff missing", lambda: "\n".join(SAMPLE_TEXT.split("\n")[:8]),
     2, "staff", "is required"),
    ("staff not a list", lambda: "organization: {name: X}\nwork_groups: []\nstaff: {code: S001}\n",
     3, "staff", "must be a list, not a mapping"),
    ("code too long", lambda: edit_line(22, "code: EDOC", "code: " + "E" * 33),
     22, "systems[2].code", "too long"),
    ("code with a space", lambda: edit_line(22, "code: EDOC", "code: E DOC"),
     22, "systems[2].code", "cannot contain spaces"),
    ("error in a block mapping", lambda: insert_after(19, _FLOW_ITEM),
     23, "staff[11].roles[2]", "unknown role 'boss'"),
    ("YAML syntax error", lambda: edit_line(16, "roles: [staff, supervisor]", "roles: [staff, supervisor"),
     16, "", "YAML syntax error: expected ',' or ']'"),
    ("top level a list", lambda: "- organization\n- staff\n",
     1, "", "the top level must be a mapping"),
    ("empty file", lambda: "# nothing yet\n",
     1, "", "the file is empty"),
]
# fmt: on


@pytest.mark.parametrize(
    ("make_text", "line_no", "field_path", "fragment"),
    [pytest.param(make, line_no, path, fragment, id=name) for name, make, line_no, path, fragment in BROKEN],
)
def test_broken_file_names_line_and_field(
    make_text: Callable[[], str], line_no: int, field_path: str, fragment: str, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(make_text(), encoding="utf-8")
    with pytest.raises(OrgFileError) as caught:
        load_org_file(path)
    error = caught.value
    assert (error.line, error.field) == (line_no, field_path)
    prefix = f"line {line_no}, {field_path}: " if field_path else f"line {line_no}: "
    assert str(error).startswith(prefix)
    assert fragment in str(error)
    assert "\n" not in str(error)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OrgFileError) as caught:
        load_org_file(tmp_path / "nope.yaml")
    assert caught.value.line is None
    assert str(caught.value) == f"cannot read organisation file {tmp_path / 'nope.yaml'}: No such file or directory"


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_bytes(SAMPLE_TEXT.encode("tis-620"))
    with pytest.raises(OrgFileError, match="not UTF-8"):
        load_org_file(path)


def test_codes_are_read_as_written() -> None:
    text = edit_line(22, "code: EDOC", "code: 0012")
    text = edit_line(12, "position: เจ้าพนักงานเครื่องคอมพิวเตอร์", "position: '  ช่างคอม  '", text)
    data = parse_org_text(text)
    assert data.systems[1].code == "0012"  # not the octal number 10
    assert data.staff[2].position == "ช่างคอม"
