"""What an import reports: the rows read, every bad row, and the refusal that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRejected(Exception):
    """The file had bad rows; nothing was written. Carries the full result."""

    def __init__(self, result: ImportResult):
        super().__init__(f"{len(result.errors)} errors")
        self.result = result
