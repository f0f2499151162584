"""starmill: the core (``pipeline``, the STaR loop; ``config``; ``training``; ``evaluation``) and,
above ``flows``, the CLI shell (``cli``, ``commands``, ``output``, ``options``, ``interrupts``).
The README's Architecture section and the import contract in pyproject.toml say who imports whom."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("starmill")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
