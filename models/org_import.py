"""Import the organisation file (DESIGN.md section 4) into the database.

The file is typed by hand by a hospital admin, so the whole of it is checked first and every
mistake is reported with its line and field; only a file that passes changes the database.
Rows are matched by their codes, so importing the same file again is a no-op and the ids that
tickets and audit entries point at stay stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from models.audit import record
from models.org import ROLES, Organization, Setting, Staff, StaffRole, System, WorkGroup, get_setting, set_setting

LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")
NOTIFY_TARGET = re.compile(r"[CR][0-9a-f]{32}")  # a LINE group (C...) or room (R...)
IT_TARGET_SETTING = "notify.it_target"
CODE_MAX = 32  # String(32) columns
TEXT_MAX = 200  # String(200) columns
AUDIT_SUBJECT_MAX = 64

_NULL_TAG = "tag:yaml.org,2002:null"
_TOP_KEYS = ("organization", "work_groups", "staff", "systems", "notify")
_ORGANIZATION_KEYS = ("name",)
_WORK_GROUP_KEYS = ("code", "name", "head")
_STAFF_KEYS = ("code", "name", "position", "work_group", "roles", "supervisor", "line_user_id")
_SYSTEM_KEYS = ("code", "name", "owner")
_NOTIFY_KEYS = ("it_target",)


class OrgFileError(Exception):
    """A problem in the organisation file, as one line: ``line 12, staff[3].work_group: ...``.

    ``line`` is 1-based (None when there is no line to point at, e.g. a missing file) and
    ``field`` is the path of the offending value; list indexes count from 1, like the admin
    counts entries in the file.
    """

    def __init__(self, message: str, line: int | None = None, field: str = "") -> None:
        self.message = " ".join(message.split())  # one line, whatever YAML put in it
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ", ".join(part for part in (f"line {self.line}" if self.line else "", self.field) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class WorkGroupEntry:
    code: str
    name: str
    head: str | None
    path: str  # e.g. "work_groups[2]", for messages
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class StaffEntry:
    code: str
    name: str
    position: str
    work_group: str
    roles: frozenset[str]
    supervisor: str | None
    line_user_id: str | None
    path: str
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SystemEntry:
    code: str
    name: str
    owner: str | None
    path: str
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OrgData:
    """A validated organisation file: every code it refers to is defined in it."""

    organization_name: str
    work_groups: tuple[WorkGroupEntry, ...]
    staff: tuple[StaffEntry, ...]
    systems: tuple[SystemEntry, ...] = ()
    it_target: str | None = None
    source: str = ""


@dataclass
class ImportReport:
    """Row counts over organization, work groups, staff, roles, systems and settings.

    A removed role or a deactivated staff member counts as updated; ``deactivated`` says how
    many of the updates were staff missing from the file.
    """

    created: int
    updated: int
    unchanged: int
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return f"organisation file imported: nothing changed ({self.unchanged} rows already up to date)"
        text = f"organisation file imported: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.deactivated:
            text += f" ({self.deactivated} staff not in the file marked inactive)"
        return text


# --- reading and checking the file (no database) ---------------------------------------------


def load_org_file(path: str | Path) -> OrgData:
    """Read and validate a file; raises OrgFileError for the first problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrgFileError(f"cannot read organisation file {path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise OrgFileError(f"cannot read organisation file {path}: {exc.strerror or exc}") from exc
    return parse_org_text(text, source=str(path))


def parse_org_text(text: str, source: str = "<text>") -> OrgData:
    """Validate the YAML text of an organisation file (the part of load_org_file after reading)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from exc
    except yaml.YAMLError as exc:
        raise OrgFileError(f"YAML error: {exc}") from exc
    if root is None:
        raise OrgFileError("the file is empty; expected organization, work_groups and staff", line=1)
    top = _mapping(root, "", _TOP_KEYS, what="the top level")
    organization = _mapping(_required(top, "organization"), "organization", _ORGANIZATION_KEYS)
    org_name = _name(organization, "organization")
    groups = [_work_group(node, f"work_groups[{i}]") for i, node in _items(top, "work_groups")]
    staff = [_staff(node, f"staff[{i}]") for i, node in _items(top, "staff")]
    systems = [_system(node, f"systems[{i}]") for i, node in _items(top, "systems", required=False)]
    it_target = None
    if _present(top, "notify"):
        notify = _mapping(top.nodes["notify"], "notify", _NOTIFY_KEYS)
        it_target = _text(notify, "it_target", "notify", max_len=CODE_MAX * 2, required=False)
        if it_target is not None and not NOTIFY_TARGET.fullmatch(it_target):
            raise _error(
                notify.nodes["it_target"],
                "notify.it_target",
                f"{it_target!r} is not a LINE group or room id (C or R followed by 32 hex digits)",
            )
    _check_unique(groups, "code", "work group code")
    _check_unique(staff, "code", "staff code")
    _check_unique(systems, "code", "system code")
    _check_unique([s for s in staff if s.line_user_id], "line_user_id", "line_user_id")
    _check_references(groups, staff, systems)
    return OrgData(org_name, tuple(groups), tuple(staff), tuple(systems), it_target, source)


@dataclass
class _Fields:
    """One YAML mapping: its value nodes by key, plus where it starts (for missing keys)."""

    node: MappingNode
    path: str
    nodes: dict[str, Node]

    @property
    def line(self) -> int:
        return _line(self.node)


def _syntax_error(exc: yaml.MarkedYAMLError) -> OrgFileError:
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context or 'unreadable YAML'}"
    if exc.context and exc.context_mark and exc.problem:
        message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
    return OrgFileError(message, line=mark.line + 1 if mark else None)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _error(node: Node, path: str, message: str) -> OrgFileError:
    return OrgFileError(message, line=_line(node), field=path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "nothing"
    return f"text {node.value!r}"


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _mapping(node: Node, path: str, allowed: tuple[str, ...], what: str = "") -> _Fields:
    """A mapping whose keys are all known: a typo in a key must not pass silently."""
    if not isinstance(node, MappingNode):
        subject = f"{what} must be" if what else "must be"
        raise _error(node, path, f"{subject} a mapping with keys {', '.join(allowed)}, not {_kind(node)}")
    nodes: dict[str, Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or _is_null(key_node):
            raise _error(key_node, path, f"a key must be a plain word, not {_kind(key_node)}")
        key = key_node.value.strip()
        if key not in allowed:
            raise _error(key_node, _join(path, key), f"unknown key {key!r} (allowed: {', '.join(allowed)})")
        if key in nodes:
            raise _error(key_node, _join(path, key), f"key {key!r} appears twice")
        nodes[key] = value_node
    return _Fields(node, path, nodes)


def _present(fields: _Fields, key: str) -> bool:
    return key in fields.nodes and not _is_null(fields.nodes[key])


def _required(fields: _Fields, key: str) -> Node:
    if not _present(fields, key):
        raise _error(fields.nodes.get(key, fields.node), _join(fields.path, key), "is required")
    return fields.nodes[key]


def _text(fields: _Fields, key: str, path: str, *, max_len: int, required: bool = True) -> str | None:
    """A stripped string. Scalars are taken as written, so code 0012 stays "0012", not 10."""
    where = _join(path, key)
    if not _present(fields, key):
        if required:
            raise _error(fields.nodes.get(key, fields.node), where, "is required")
        return None
    node = fields.nodes[key]
    if not isinstance(node, ScalarNode):
        raise _error(node, where, f"must be text, not {_kind(node)}")
    value = str(node.value).strip()
    if not value:
        if required:
            raise _error(node, where, "must not be empty")
        return None
    if len(value) > max_len:
        raise _error(node, where, f"is too long ({len(value)} characters, at most {max_len})")
    return value


def _items(top: _Fields, key: str, required: bool = True) -> Iterable[tuple[int, Node]]:
    if not _present(top, key):
        if required:
            raise _error(top.nodes.get(key, top.node), key, "is required (a list)")
        return []
    node = top.nodes[key]
    if not isinstance(node, SequenceNode):
        raise _error(node, key, f"must be a list, not {_kind(node)}")
    return list(enumerate(node.value, start=1))


def _lines(fields: _Fields) -> dict[str, int]:
    return {"": fields.line} | {key: _line(node) for key, node in fields.nodes.items()}


def _work_group(node: Node, path: str) -> WorkGroupEntry:
    fields = _mapping(node, path, _WORK_GROUP_KEYS)
    return WorkGroupEntry(
        code=_code(fields, "code", path),
        name=_name(fields, path),
        head=_code(fields, "head", path, required=False),
        path=path,
        lines=_lines(fields),
    )


def _system(node: Node, path: str) -> SystemEntry:
    fields = _mapping(node, path, _SYSTEM_KEYS)
    return SystemEntry(
        code=_code(fields, "code", path),
        name=_name(fields, path),
        owner=_code(fields, "owner", path, required=False),
        path=path,
        lines=_lines(fields),
    )


def _staff(node: Node, path: str) -> StaffEntry:
    fields = _mapping(node, path, _STAFF_KEYS)
    code = _code(fields, "code", path)
    name = _name(fields, path)
    position = _text(fields, "position", path, max_len=TEXT_MAX, required=False) or ""
    work_group = _code(fields, "work_group", path)
    roles = _roles(fields, path)
    supervisor = _code(fields, "supervisor", path, required=False)
    line_user_id = _text(fields, "line_user_id", path, max_len=64, required=False)
    if line_user_id is not None and not LINE_USER_ID.fullmatch(line_user_id):
        raise _error(
            fields.nodes["line_user_id"],
            _join(path, "line_user_id"),
            f"{line_user_id!r} is not a LINE user id (U followed by 32 lowercase hex digits)",
        )
    if supervisor == code:
        raise _error(fields.nodes["supervisor"], _join(path, "supervisor"), "staff cannot be their own supervisor")
    return StaffEntry(code, name, position, work_group, roles, supervisor, line_user_id, path, _lines(fields))


def _code(fields: _Fields, key: str, path: str, required: bool = True) -> str | None:
    value = _text(fields, key, path, max_len=CODE_MAX, required=required)
    if value is not None and any(ch.isspace() for ch in value):
        raise _error(fields.nodes[key], _join(path, key), f"a code cannot contain spaces: {value!r}")
    return value


def _name(fields: _Fields, path: str) -> str:
    value = _text(fields, "name", path, max_len=TEXT_MAX)
    assert value is not None  # required=True
    return value


def _roles(fields: _Fields, path: str) -> frozenset[str]:
    """At least one known role; everyone is staff, so "staff" is implied."""
    where = _join(path, "roles")
    if not _present(fields, "roles"):
        known = ", ".join(ROLES)
        raise _error(fields.nodes.get("roles", fields.node), where, f"is required, e.g. [staff] (roles: {known})")
    node = fields.nodes["roles"]
    if not isinstance(node, SequenceNode):
        raise _error(node, where, f"must be a list of roles such as [staff, it], not {_kind(node)}")
    if not node.value:
        raise _error(node, where, "must list at least one role, e.g. [staff]")
    roles = {"staff"}
    for i, item in enumerate(node.value, start=1):
        if not isinstance(item, ScalarNode) or _is_null(item):
            raise _error(item, f"{where}[{i}]", f"must be a role name, not {_kind(item)}")
        role = item.value.strip()
        if role not in ROLES:
            raise _error(item, f"{where}[{i}]", f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        roles.add(role)
    return frozenset(roles)


def _check_unique(entries: Sequence[WorkGroupEntry | StaffEntry | SystemEntry], key: str, what: str) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        value = getattr(entry, key)
        if value in seen:
            raise OrgFileError(
                f"duplicate {what} {value!r} (first used on line {seen[value]})",
                line=entry.lines[key],
                field=_join(entry.path, key),
            )
        seen[value] = entry.lines[key]


def _check_references(groups: list[WorkGroupEntry], staff: list[StaffEntry], systems: list[SystemEntry]) -> None:
    group_codes = {group.code for group in groups}
    by_code = {person.code: person for person in staff}

    def unknown_staff(entry: WorkGroupEntry | StaffEntry | SystemEntry, key: str, code: str | None) -> None:
        if code is not None and code not in by_code:
            raise OrgFileError(f"unknown staff code {code!r}", line=entry.lines[key], field=_join(entry.path, key))

    for person in staff:
        if person.work_group not in group_codes:
            raise OrgFileError(
                f"unknown work group {person.work_group!r}",
                line=person.lines["work_group"],
                field=_join(person.path, "work_group"),
            )
        unknown_staff(person, "supervisor", person.supervisor)
    for group in groups:
        unknown_staff(group, "head", group.head)
    for system in systems:
        unknown_staff(system, "owner", system.owner)
    for person in staff:
        _check_supervisor_chain(person, by_code)


def _check_supervisor_chain(person: StaffEntry, by_code: dict[str, StaffEntry]) -> None:
    """Explicit supervisors must not loop: an approval would be passed round forever."""
    chain = [person.code]
    current = person.supervisor
    while current is not None:
        if current == person.code:
            loop = " -> ".join([*chain, current])
            where = _join(person.path, "supervisor")
            raise OrgFileError(f"supervisors form a loop: {loop}", line=person.lines["supervisor"], field=where)
        if current in chain:
            return  # a loop further up; reported on the entries that are part of it
        chain.append(current)
        current = by_code[current].supervisor


# --- writing to the database ------------------------------------------------------------------


class _Tally:
    """Counts each row once, however many steps of the import touch it."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, ...]] = set()
        self.created: set[tuple[str, ...]] = set()
        self.updated: set[tuple[str, ...]] = set()
        self.deactivated = 0

    def row(self, key: tuple[str, ...], *, created: bool = False, updated: bool = False) -> None:
        self.seen.add(key)
        if created:
            self.created.add(key)
        elif updated:
            self.updated.add(key)

    def report(self) -> ImportReport:
        updated = self.updated - self.created
        return ImportReport(
            created=len(self.created),
            updated=len(updated),
            unchanged=len(self.seen - self.created - updated),
            deactivated=self.deactivated,
        )


def import_org_file(session: Session, path: str | Path, now: datetime) -> ImportReport:
    return import_org(session, load_org_file(path), now)


def import_org(session: Session, data: OrgData, now: datetime) -> ImportReport:
    """Upsert the organisation in the caller's transaction; equal rows are left untouched.

    Staff missing from the file are marked inactive, not deleted: tickets and approvals keep
    pointing at them.
    """
    existing_staff = {s.code: s for s in session.scalars(select(Staff))}
    _check_line_ids_free(session, data)  # the last check; nothing has been written yet
    tally = _Tally()
    _upsert_organization(session, data, tally)
    groups = _upsert_work_groups(session, data, tally)
    session.flush()  # group ids for staff.work_group_id
    staff = _upsert_staff(session, data, existing_staff, groups, now, tally)
    session.flush()  # staff ids for heads, supervisors and owners
    _link(data, groups, staff, now, tally)
    _upsert_systems(session, data, staff, tally)
    _upsert_it_target(session, data, tally)
    report = tally.report()
    if report.changed:
        record(
            session,
            now,
            "org.import",
            subject=data.organization_name[:AUDIT_SUBJECT_MAX],
            created=report.created,
            updated=report.updated,
            deactivated=report.deactivated,
            file=Path(data.source).name if data.source else "",
        )
    session.flush()
    return report


def _check_line_ids_free(session: Session, data: OrgData) -> None:
    """A LINE account bound to someone else stays theirs unless the file moves it explicitly."""
    claims = {entry.line_user_id: entry for entry in data.staff if entry.line_user_id}
    if not claims:
        return
    in_file = {entry.code: entry for entry in data.staff}
    holders = session.execute(select(Staff.code, Staff.line_user_id).where(Staff.line_user_id.in_(list(claims))))
    for holder_code, line_user_id in sorted(holders, key=lambda row: claims[row[1]].lines[""]):
        claimant = claims[line_user_id]
        if holder_code == claimant.code:
            continue
        holder_entry = in_file.get(holder_code)
        if holder_entry is not None and holder_entry.line_user_id not in (None, line_user_id):
            continue  # the file gives the holder another account: this one is free to move
        raise OrgFileError(
            f"LINE account {line_user_id} is already bound to staff {holder_code} in the database",
            line=claimant.lines["line_user_id"],
            field=_join(claimant.path, "line_user_id"),
        )


def _assign(obj: object, **values: object) -> bool:
    """Set only the attributes that differ, so equal rows get no UPDATE (and no updated_at)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _touch(staff: Staff, now: datetime) -> None:
    # Explicitly part of the UPDATE, so the column's onupdate=utcnow does not replace `now`.
    staff.updated_at = now
    flag_modified(staff, "updated_at")


def _upsert_organization(session: Session, data: OrgData, tally: _Tally) -> None:
    org = session.scalars(select(Organization).order_by(Organization.id).limit(1)).first()
    if org is None:
        session.add(Organization(name=data.organization_name))
        tally.row(("organization",), created=True)
    else:
        tally.row(("organization",), updated=_assign(org, name=data.organization_name))


def _upsert_work_groups(session: Session, data: OrgData, tally: _Tally) -> dict[str, WorkGroup]:
    groups = {g.code: g for g in session.scalars(select(WorkGroup))}
    for entry in data.work_groups:
        key = ("work_group", entry.code)
        group = groups.get(entry.code)
        if group is None:
            groups[entry.code] = group = WorkGroup(code=entry.code, name=entry.name)
            session.add(group)
            tally.row(key, created=True)
        else:
            tally.row(key, updated=_assign(group, name=entry.name))
    return groups


def _upsert_staff(
    session: Session,
    data: OrgData,
    existing: dict[str, Staff],
    groups: dict[str, WorkGroup],
    now: datetime,
    tally: _Tally,
) -> dict[str, Staff]:
    in_file = {entry.code: entry for entry in data.staff}
    # An account moving between two listed people: free it first, or the unique index objects.
    moving = [
        staff
        for code, staff in existing.items()
        if code in in_file
        and staff.line_user_id is not None
        and in_file[code].line_user_id not in (None, staff.line_user_id)
    ]
    for staff in moving:
        staff.line_user_id = None
    if moving:
        session.flush()

    for entry in data.staff:
        key = ("staff", entry.code)
        staff = existing.get(entry.code)
        if staff is None:
            staff = Staff(
                code=entry.code,
                name=entry.name,
                position=entry.position,
                work_group_id=groups[entry.work_group].id,
                line_user_id=entry.line_user_id,
                active=True,
                created_at=now,
                updated_at=now,
                role_rows=[StaffRole(role=role) for role in sorted(entry.roles)],
            )
            session.add(staff)
            existing[entry.code] = staff
            tally.row(key, created=True)
            for role in entry.roles:
                tally.row(("role", entry.code, role), created=True)
            continue
        values: dict[str, object] = {
            "name": entry.name,
            "position": entry.position,
            "work_group_id": groups[entry.work_group].id,
            "active": True,
        }
        if entry.line_user_id is not None:  # else keep an account bound by registration code
            values["line_user_id"] = entry.line_user_id
        changed = _assign(staff, **values)
        changed = _replace_roles(staff, entry, tally) or changed
        if changed:
            _touch(staff, now)
        tally.row(key, updated=changed)

    for code, staff in existing.items():
        if code in in_file:
            continue
        tally.row(("staff", code), updated=staff.active)
        if staff.active:
            staff.active = False
            _touch(staff, now)
            tally.deactivated += 1
    return existing


def _replace_roles(staff: Staff, entry: StaffEntry, tally: _Tally) -> bool:
    """Make the role set exactly the file's; returns whether it changed."""
    changed = False
    for row in list(staff.role_rows):
        kept = row.role in entry.roles
        tally.row(("role", entry.code, row.role), updated=not kept)
        if not kept:
            staff.role_rows.remove(row)
            changed = True
    have = {row.role for row in staff.role_rows}
    for role in sorted(entry.roles - have):
        staff.role_rows.append(StaffRole(role=role))
        tally.row(("role", entry.code, role), created=True)
        changed = True
    return changed


def _link(data: OrgData, groups: dict[str, WorkGroup], staff: dict[str, Staff], now: datetime, tally: _Tally) -> None:
    """Heads and supervisors, once every staff row has an id (the FKs go both ways)."""
    for entry in data.staff:
        person = staff[entry.code]
        supervisor_id = staff[entry.supervisor].id if entry.supervisor else None
        if _assign(person, supervisor_id=supervisor_id):
            _touch(person, now)
            tally.row(("staff", entry.code), updated=True)
    for group_entry in data.work_groups:
        head_id = staff[group_entry.head].id if group_entry.head else None
        if _assign(groups[group_entry.code], head_id=head_id):
            tally.row(("work_group", group_entry.code), updated=True)


def _upsert_systems(session: Session, data: OrgData, staff: dict[str, Staff], tally: _Tally) -> None:
    systems = {s.code: s for s in session.scalars(select(System))}
    for entry in data.systems:
        key = ("system", entry.code)
        owner_id = staff[entry.owner].id if entry.owner else None
        system = systems.get(entry.code)
        if system is None:
            session.add(System(code=entry.code, name=entry.name, owner_id=owner_id))
            tally.row(key, created=True)
        else:
            tally.row(key, updated=_assign(system, name=entry.name, owner_id=owner_id))


def _upsert_it_target(session: Session, data: OrgData, tally: _Tally) -> None:
    exists = session.get(Setting, IT_TARGET_SETTING) is not None
    if get_setting(session, IT_TARGET_SETTING) == data.it_target:
        if exists:
            tally.row(("setting", IT_TARGET_SETTING))
        return
    set_setting(session, IT_TARGET_SETTING, data.it_target)
    tally.row(("setting", IT_TARGET_SETTING), created=not exists, updated=exists)
