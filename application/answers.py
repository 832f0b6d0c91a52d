"""Answers kept per user in this process as of a read-model position, served while nothing newer is known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from application.write_mark import WriteMark

if TYPE_CHECKING:
    from application.reading import ReadSide

Answer = TypeVar("Answer")
KEPT = 20_000  # users whose answers are kept; past that the oldest kept goes


@dataclass(frozen=True)
class Kept(Generic[Answer]):
    position: int  # the read model's position when the answer was read (or earlier)
    answer: Answer


class AnswerCache(Generic[Answer]):
    """A kept answer stands while the read model is known not to have moved past it: every advance is heard here
    (LISTEN, or this process's own projector) and none went beyond its position, and this process wrote nothing
    it does not hold. Whatever the answer holds, any projected event drops it: it is never stale by more than
    the time a NOTIFY takes to arrive."""

    def __init__(self, read_side: ReadSide, written: WriteMark, kept: int = KEPT) -> None:
        self._side = read_side
        self._written = written
        self._kept = kept
        self._answers: dict[str, Kept[Answer]] = {}

    def get(self, key: str) -> Answer | None:
        kept = self._answers.get(key)
        if kept is None:
            return None
        if self._stands(kept.position):
            return kept.answer
        del self._answers[key]
        return None

    def put(self, key: str, position: int, answer: Answer) -> None:
        if not self._stands(position):
            return  # already overtaken
        self._answers.pop(key, None)
        if len(self._answers) >= self._kept:
            del self._answers[next(iter(self._answers))]
        self._answers[key] = Kept(position, answer)

    def _stands(self, position: int) -> bool:
        side = self._side
        return side.hearing and position >= side.progress.position and position >= self._written.position
