"""The exception every comparison raises for a side that no parser understands."""


class Unparseable(Exception):
    """A side that no parser understands; ``side`` is "gold" or "pred"."""

    def __init__(self, side: str, rule: str = "parse_error"):
        super().__init__(side, rule)
        self.side, self.rule = side, rule
