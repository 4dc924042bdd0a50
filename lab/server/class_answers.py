"""What a class predicted at each lesson step, for the teacher's view: counts only, held in this server's memory
(no names, nothing written anywhere, gone when the server restarts). A session's latest prediction at a step
replaces its earlier one, so each session counts once."""
from __future__ import annotations

import threading
from collections import Counter

MAX_SESSIONS_PER_STEP = 5_000  # a lecture hall is far fewer; the bound keeps a runaway client from filling memory


class Classroom:
    def __init__(self):
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, int], dict[str, str]] = {}  # (lesson, step) -> session -> answer

    def record(self, lesson: str, step: int, session: str, answer: str) -> None:
        with self._lock:
            at = self._answers.setdefault((lesson, step), {})
            if session in at or len(at) < MAX_SESSIONS_PER_STEP:
                at[session] = answer

    def split(self, lesson: str, step: int) -> Counter:
        """How the sessions' predictions at this step split: answer -> sessions."""
        with self._lock:
            return Counter(self._answers.get((lesson, step), {}).values())

    def clear(self, lesson: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._answers if lesson is None or k[0] == lesson]:
                del self._answers[key]


CLASSROOM = Classroom()
