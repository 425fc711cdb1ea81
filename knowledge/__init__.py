"""The SOP corpus (curated YAML in corpus/, admins' FAQ in faq.yaml) and its Thai search. Pure: no
Flask, no database writes."""

from __future__ import annotations

import threading
from pathlib import Path

from knowledge.answer import Answer, answer
from knowledge.corpus import CORPUS_DIR, FAQ_FILE, load_corpus
from knowledge.search import KnowledgeBase

__all__ = ["Answer", "KnowledgeBase", "answer", "knowledge_base", "reload"]

_lock = threading.Lock()
_cache: dict[tuple[Path, Path | None], KnowledgeBase] = {}


def knowledge_base(corpus_dir: Path = CORPUS_DIR, faq_file: Path | None = FAQ_FILE) -> KnowledgeBase:
    """The index over the corpus, built on first use and then kept for the life of the process."""
    key = (corpus_dir, faq_file)
    with _lock:
        if key not in _cache:
            _cache[key] = KnowledgeBase(load_corpus(corpus_dir, faq_file))
        return _cache[key]


def reload() -> None:
    """Forget built indexes (after an admin edits the FAQ); the next question rebuilds them."""
    with _lock:
        _cache.clear()
