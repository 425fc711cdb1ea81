"""Finding the passages that answer a Thai question.

Three signals, each good at something the others miss: BM25 over pythainlp `newmm` words (topic
words), BM25 over character trigrams of the tone-stripped text (typos, missing tone marks, words
newmm splits differently), and rapidfuzz on titles, keywords and FAQ question variants. The
confidence of a hit is how much of the question the passage covers, word by word.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from knowledge.bm25 import BM25Index
from knowledge.corpus import Passage
from knowledge.facts import without_asking_words
from knowledge.normalize import (
    PUNCTUATION,
    char_ngrams,
    content_words,
    expand,
    normalize,
    stopwords,
    without_tone_marks,
    words,
)

CANDIDATES = 20
FUZZY_WORD_CUTOFF = 85  # partial_ratio for a typed word found inside a passage (typos)
FUZZY_MIN_LENGTH = 4  # shorter words are too easy to find anywhere


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # ranking score, 0..1
    confidence: float  # share of the question the passage covers, 0..1
    missing: tuple[str, ...] = ()  # question words the passage does not contain


def _compact(text: str) -> str:
    return without_tone_marks(PUNCTUATION.sub("", normalize(text))).replace(" ", "")


def query_groups(question: str) -> list[frozenset[str]]:
    """Each topic word of the question with what it stands for (any one of them counts)."""
    groups: list[frozenset[str]] = []
    seen: set[frozenset[str]] = set()
    stop = stopwords()
    for word in words(without_asking_words(question)):
        if word in stop or not word.strip():
            continue
        members = {w for w in expand([word]) if w not in stop}
        compact = frozenset(c for c in (_compact(m) for m in members) if c)
        if compact and compact not in seen:
            seen.add(compact)
            groups.append(compact)
    return groups


class KnowledgeBase:
    """An in-memory index over the corpus, built once (about a second for the real corpus)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        texts = [p.search_text() for p in self.passages]
        self._texts = texts
        self._word_index = BM25Index([content_words(t) for t in texts])
        self._char_index = BM25Index([char_ngrams(t) for t in texts])
        # Coverage also counts words of the document's own title ("แผนพัฒนา...ฉบับนี้").
        self._compact = [_compact(f"{t} {p.document.title} {p.document.code}") for t, p in zip(texts, self.passages,
                                                                                                 strict=True)]
        self._trigrams = [set(char_ngrams(t)) for t in texts]
        self._titles = [normalize(" ".join([p.title, *p.keywords, *p.questions])) for p in self.passages]
        self._max_idf = math.log(1 + (len(self.passages) + 0.5) / 0.5)
        self._df_cache: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, question: str, limit: int = 5, ranker: str = "combined") -> list[Hit]:
        """Best passages first. `ranker` exists for measuring (knowledge.evaluate --compare): "words"
        or "chars" use one BM25 index alone, "rapidfuzz" ranks by plain fuzzy ratios."""
        groups = query_groups(question)
        trigrams = char_ngrams(question)
        if not groups and not trigrams:
            return []
        relevance = self._relevance(question, trigrams, ranker)
        hits = []
        for index, rank_score in relevance.items():
            confidence, missing = self._coverage(index, groups, trigrams)
            hits.append(Hit(self.passages[index], round(0.5 * rank_score + 0.5 * confidence, 4),
                            round(confidence, 4), missing))
        hits.sort(key=lambda h: (-h.score, h.passage.id))
        return hits[:limit]

    def _relevance(self, question: str, trigrams: list[str], ranker: str) -> dict[int, float]:
        """Candidate passages with a 0..1 relevance each."""
        if ranker == "rapidfuzz":
            scored = {i: fuzz.token_set_ratio(question, t) / 100 for i, t in enumerate(self._texts)}
            return {i: scored[i] for i in _top(scored, CANDIDATES)}
        word_scores = self._word_index.scores(content_words(question)) if ranker != "chars" else {}
        char_scores = self._char_index.scores(trigrams) if ranker != "words" else {}
        pool = _top(word_scores, CANDIDATES) | _top(char_scores, CANDIDATES)
        word_max = max(word_scores.values(), default=0.0) or 1.0
        char_max = max(char_scores.values(), default=0.0) or 1.0
        if ranker == "words":
            return {i: word_scores.get(i, 0.0) / word_max for i in pool}
        if ranker == "chars":
            return {i: char_scores.get(i, 0.0) / char_max for i in pool}
        asked = normalize(question)
        found = {}
        for index in pool:
            title = fuzz.token_set_ratio(asked, self._titles[index], processor=None) / 100
            found[index] = (0.45 * word_scores.get(index, 0.0) / word_max
                            + 0.4 * char_scores.get(index, 0.0) / char_max + 0.15 * title)
        return found

    def _weight(self, group: frozenset[str]) -> float:
        """How much a question word says about the topic: rare in the corpus says much; a word the
        corpus never uses (VPN, parking) says the most, since no passage can be about it."""
        df = min((self._document_frequency(member) for member in group), default=0)
        if df == 0:
            return self._max_idf
        return math.log(1 + (len(self.passages) - df + 0.5) / (df + 0.5))

    def _document_frequency(self, member: str) -> int:
        cached = self._df_cache.get(member)
        if cached is None:
            cached = sum(1 for text in self._compact if member in text)
            self._df_cache[member] = cached
        return cached

    def _coverage(self, index: int, groups: list[frozenset[str]], trigrams: list[str]) -> tuple[float, tuple[str, ...]]:
        """0.7 × weighted share of topic words present (exactly, or nearly for long words) + 0.3 ×
        share of the question's character trigrams present."""
        text = self._compact[index]
        found = total = 0.0
        missing = []
        for group in groups:
            weight = self._weight(group)
            total += weight
            if any(member in text for member in group) or any(
                len(member) >= FUZZY_MIN_LENGTH
                and fuzz.partial_ratio(member, text, processor=None, score_cutoff=FUZZY_WORD_CUTOFF)
                for member in group
            ):
                found += weight
            else:
                missing.append(min(group, key=len))
        word_share = found / total if total else 0.0
        own = self._trigrams[index]
        char_share = sum(1 for t in trigrams if t in own) / len(trigrams) if trigrams else 0.0
        return 0.7 * word_share + 0.3 * char_share, tuple(missing)


def _top(scores: dict[int, float], n: int) -> set[int]:
    return {index for index, _ in sorted(scores.items(), key=lambda item: -item[1])[:n]}
