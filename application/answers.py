"""Answers kept per user in this process as of a read-model position, served while nothing newer is known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from application.write_mark import WriteMark

Answer = TypeVar("Answer")
KEPT = 20_000  # users whose answers are kept; past that the oldest kept goes


@dataclass(frozen=True)
class Kept(Generic[Answer]):
    position: int  # the read model's position when the answer was read (or earlier)
    hearings: int  # the watch's `hearings` then
    answer: Answer


class Position(Protocol):
    @property
    def position(self) -> int: ...


class ReadModelWatch(Protocol):
    """What this process knows of the read model: how far it has got, whether every advance is heard here, and
    how far this process has written (the read side, `ReadSide`)."""

    @property
    def hearing(self) -> bool: ...

    @property
    def hearings(self) -> int:
        """How many times hearing began (a NOTIFY may be lost at each break)."""

    @property
    def progress(self) -> Position: ...

    @property
    def written(self) -> WriteMark: ...


class AnswerCache(Generic[Answer]):
    """A kept answer stands while the read model is known not to have moved past it: every advance is heard here
    (LISTEN, or this process's own projector), without a break since it was kept, and none went beyond its
    position, and this process wrote nothing it does not hold. Whatever the answer holds, any projected event drops it: it is never stale by more than
    the time a NOTIFY takes to arrive."""

    def __init__(self, watch: ReadModelWatch, kept: int = KEPT) -> None:
        self._watch = watch
        self._kept = kept
        self._answers: dict[str, Kept[Answer]] = {}

    def get(self, key: str) -> Answer | None:
        kept = self._answers.get(key)
        if kept is None:
            return None
        if self._stands(kept.position) and kept.hearings == self._watch.hearings:
            return kept.answer
        del self._answers[key]
        return None

    def put(self, key: str, position: int, answer: Answer) -> None:
        if not self._stands(position):
            return  # already overtaken
        self._answers.pop(key, None)
        if len(self._answers) >= self._kept:
            del self._answers[next(iter(self._answers))]
        self._answers[key] = Kept(position, self._watch.hearings, answer)

    def _stands(self, position: int) -> bool:
        watch = self._watch
        return watch.hearing and position >= watch.progress.position and position >= watch.written.position
