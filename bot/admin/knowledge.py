"""The knowledge base's FAQ entries (knowledge/faq.yaml) for admins: answers the SOPs do not give.

The file is what the worker loads at start, so an edit is checked exactly as `flask --app bot kb
check` checks it (the whole corpus with the new file) before it replaces the old one, the previous
version is kept as <file>.bak, and the admin is told to restart the worker.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml
from flask import abort, current_app, flash, redirect, render_template, request, url_for

from bot.admin import NAV, bp
from bot.admin.auth import ADMIN_PAGES, record, require
from knowledge.corpus import CORPUS_DIR, FAQ_FILE, CorpusError, load_corpus

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
HEADER = ("# Answers the SOP documents do not give, added by the agency's admins (format: knowledge/CORPUS.md).\n"
          "# After editing: `flask --app bot kb check`, then restart the worker. An empty list is fine.\n"
          "# Last written by the admin web (/admin/faq); the version before is kept as faq.yaml.bak.\n")
RESTART = "ระบบจะใช้คำตอบใหม่เมื่อเริ่มการทำงานของ worker ใหม่ (restart) — โปรดแจ้งผู้ดูแลเซิร์ฟเวอร์"
_write_lock = threading.Lock()
NAV.append(("admin.faq_page", "คำถามที่พบบ่อย", ADMIN_PAGES))


class FaqError(ValueError):
    """A message for the admin, in Thai."""


def faq_path() -> Path:
    return Path(current_app.config.get("FAQ_FILE") or FAQ_FILE)


def read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FaqError(f"อ่านไฟล์ {path.name} ไม่ได้: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise FaqError(f"ไฟล์ {path.name} ต้องเป็นรายการของคำถาม (list of mappings)")
    return data


def _lines(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n\r]+", text) if part.strip()]


def entry_from_form(form: Any) -> dict[str, Any]:
    """The entry as CORPUS.md describes it; optional keys only when filled."""
    entry: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "questions": _lines(form.get("questions", "")),
        "answer": " ".join(form.get("answer", "").split()),
        "source": " ".join(form.get("source", "").split()),
    }
    if form.get("section", "").strip():
        entry["section"] = form.get("section", "").strip()
    keywords = [k.strip() for k in re.split(r"[,\n]+", form.get("keywords", "")) if k.strip()]
    if keywords:
        entry["keywords"] = keywords
    return entry


def check_entry(entry: dict[str, Any]) -> list[str]:
    problems = []
    if not ID_PATTERN.fullmatch(entry["id"]):
        problems.append("รหัสคำถาม (id) ต้องเป็นอักษรอังกฤษ ตัวเลข - _ . ไม่เกิน 64 ตัว เช่น faq-vpn")
    if not entry["questions"]:
        problems.append("ต้องมีคำถามอย่างน้อย 1 แบบ (บรรทัดละ 1 แบบ)")
    if not entry["answer"]:
        problems.append("ต้องกรอกคำตอบ")
    if not entry["source"]:
        problems.append("ต้องระบุแหล่งอ้างอิง (source) ที่คำตอบอ้างถึง")
    return problems


def write_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    """Check the new file with the whole corpus (as kb check does), keep a .bak, then replace."""
    text = HEADER + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".faq-", suffix=".yaml", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            load_corpus(CORPUS_DIR, temp)
        except CorpusError as exc:
            raise FaqError(f"ไฟล์ใหม่ไม่ผ่านการตรวจ (kb check): {str(exc).replace(temp.name, path.name)}") from exc
        if path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


@bp.get("/faq")
@require(*ADMIN_PAGES)
def faq_page() -> Any:
    path, error = faq_path(), ""
    try:
        entries = read_entries(path)
    except FaqError as exc:
        entries, error = [], str(exc)
    return render_template("admin/faq.html", entries=entries, error=error, path=path)


def _form(entry: dict[str, Any] | None, original: str, status: int = 200, error: str = "") -> Any:
    entry = dict(entry or {})
    for key in ("questions", "keywords"):  # the loader also accepts one text instead of a list
        if isinstance(entry.get(key), str | int):
            entry[key] = [str(entry[key])]
    return render_template("admin/faq_form.html", entry=entry, original=original, error=error), status


@bp.get("/faq/new")
@require(*ADMIN_PAGES)
def faq_new() -> Any:
    return _form(None, "")


@bp.get("/faq/<faq_id>")
@require(*ADMIN_PAGES)
def faq_edit(faq_id: str) -> Any:
    try:
        entries = read_entries(faq_path())
    except FaqError as exc:
        return _form(None, "", 409, str(exc))
    entry = next((e for e in entries if str(e.get("id")) == faq_id), None)
    if entry is None:
        abort(404)
    return _form(entry, faq_id)


@bp.post("/faq/save")
@require(*ADMIN_PAGES)
def faq_save() -> Any:
    original = request.form.get("original", "").strip()
    entry = entry_from_form(request.form)
    problems = check_entry(entry)
    path = faq_path()
    with _write_lock:
        try:
            entries = read_entries(path)
            ids = [str(e.get("id")) for e in entries]
            if original and original not in ids:
                problems.append(f"ไม่พบคำถามรหัส {original} ในไฟล์แล้ว (อาจถูกลบไปก่อน)")
            elif entry["id"] != original and entry["id"] in ids:
                problems.append(f"รหัส {entry['id']} มีอยู่แล้ว")
            if problems:
                raise FaqError(" · ".join(problems))
            if original:
                at = ids.index(original)
                entries[at] = {**{k: v for k, v in entries[at].items()
                                  if k not in ("id", "questions", "answer", "source", "section", "keywords")}, **entry}
            else:
                entries.append(entry)
            write_entries(path, entries)
        except FaqError as exc:
            return _form(entry, original, 400, str(exc))
    record("faq.updated" if original else "faq.added", entry["id"], renamed_from=original
           if original and original != entry["id"] else None)
    flash(f"บันทึกคำถาม {entry['id']} แล้ว · {RESTART}")
    return redirect(url_for("admin.faq_page"))


@bp.post("/faq/<faq_id>/delete")
@require(*ADMIN_PAGES)
def faq_delete(faq_id: str) -> Any:
    path = faq_path()
    with _write_lock:
        try:
            entries = read_entries(path)
            kept = [e for e in entries if str(e.get("id")) != faq_id]
            if len(kept) == len(entries):
                abort(404)
            write_entries(path, kept)
        except FaqError as exc:
            flash(str(exc))
            return redirect(url_for("admin.faq_page"))
    record("faq.deleted", faq_id)
    flash(f"ลบคำถาม {faq_id} แล้ว · {RESTART}")
    return redirect(url_for("admin.faq_page"))
