"""The curated SOP corpus and the admins' FAQ entries, loaded from YAML (format: CORPUS.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
CORPUS_DIR = HERE / "corpus"
FAQ_FILE = HERE / "faq.yaml"


class CorpusError(ValueError):
    """A corpus or FAQ file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Document:
    code: str
    title: str
    agency: str
    agency_short: str


@dataclass(frozen=True)
class Passage:
    id: str
    document: Document
    section: str
    title: str
    text: str
    step: str = ""
    roles: tuple[str, ...] = ()
    time: str = ""
    schedule: str = ""
    keywords: tuple[str, ...] = ()
    questions: tuple[str, ...] = field(default=())  # FAQ entries: the question variants

    @property
    def is_faq(self) -> bool:
        return bool(self.questions)

    def search_text(self) -> str:
        """Everything a question may match: title, text, facts, keywords and question variants."""
        parts = [self.title, self.text, self.time, self.schedule, " ".join(self.roles), " ".join(self.keywords),
                 " ".join(self.questions)]
        return " ".join(p for p in parts if p)


def _text(entry: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise CorpusError(f"{where}: '{key}' is required")
        return ""
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise CorpusError(f"{where}: '{key}' must be text")
    return " ".join(value.split())


def _list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise CorpusError(f"{where}: '{key}' must be a list of text")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path.name}: cannot be read ({type(exc).__name__}: {exc})") from exc


def load_document_file(path: Path) -> list[Passage]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("document"), dict):
        raise CorpusError(f"{path.name}: needs a 'document' mapping and a 'passages' list")
    head = data["document"]
    where = f"{path.name} document"
    document = Document(
        code=_text(head, "code", where, required=True),
        title=_text(head, "title", where, required=True),
        agency=_text(head, "agency", where, required=True),
        agency_short=_text(head, "agency_short", where) or _text(head, "agency", where),
    )
    entries = data.get("passages")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{path.name}: 'passages' must be a non-empty list")
    passages = []
    for index, entry in enumerate(entries):
        where = f"{path.name} passage {index + 1}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: must be a mapping")
        passages.append(Passage(
            id=_text(entry, "id", where, required=True),
            document=document,
            section=_text(entry, "section", where),
            title=_text(entry, "title", where, required=True),
            text=_text(entry, "text", where, required=True),
            step=_text(entry, "step", where),
            roles=_list(entry, "roles", where),
            time=_text(entry, "time", where),
            schedule=_text(entry, "schedule", where),
            keywords=_list(entry, "keywords", where),
        ))
    return passages


def load_faq_file(path: Path) -> list[Passage]:
    """Admins' entries: question variants, an answer, and what it cites."""
    if not path.exists():
        return []
    data = _read_yaml(path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise CorpusError(f"{path.name}: must be a list of entries")
    passages = []
    for index, entry in enumerate(data):
        where = f"{path.name} entry {index + 1}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: must be a mapping")
        questions = _list(entry, "questions", where)
        if not questions:
            raise CorpusError(f"{where}: 'questions' needs at least one question")
        source = _text(entry, "source", where, required=True)
        passages.append(Passage(
            id=_text(entry, "id", where, required=True),
            document=Document(code=source, title=source, agency=source, agency_short=source),
            section=_text(entry, "section", where),
            title=questions[0],
            text=_text(entry, "answer", where, required=True),
            keywords=_list(entry, "keywords", where),
            questions=questions,
        ))
    return passages


def load_corpus(corpus_dir: Path = CORPUS_DIR, faq_file: Path | None = FAQ_FILE) -> list[Passage]:
    """Every passage of every document file, then the FAQ; ids must be unique across them."""
    files = sorted(corpus_dir.glob("*.yaml"))
    passages = [p for path in files for p in load_document_file(path)]
    if faq_file is not None:
        passages += load_faq_file(faq_file)
    _check_unique(passages)
    return passages


def _check_unique(passages: Iterable[Passage]) -> None:
    seen: set[str] = set()
    for passage in passages:
        if passage.id in seen:
            raise CorpusError(f"passage id {passage.id!r} is used twice")
        seen.add(passage.id)
