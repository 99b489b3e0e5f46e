"""Result tables: printed to the terminal and collected into one markdown file."""

from dataclasses import dataclass, field


@dataclass
class Table:
    """One benchmark table: a title, column names, rows of cells and notes."""

    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, *cells):
        self.rows.append([_format(cell) for cell in cells])

    def _widths(self):
        return [max(len(str(c)) for c in column) for column in zip(self.columns, *self.rows)]

    def to_text(self):
        widths = self._widths()
        lines = [self.title, "-" * len(self.title)]
        for row in [self.columns, *self.rows]:
            lines.append("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
        lines += self.notes
        return "\n".join(lines)

    def to_markdown(self):
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            lines += [""] + self.notes
        return "\n".join(lines) + "\n"


def _format(cell):
    if isinstance(cell, float):
        return f"{cell:.3g}" if abs(cell) < 1000 else f"{cell:.0f}"
    return str(cell)
