"""Generator-backed parts behind a filter's interface, above both generators and filters (filters may
not import generators): the LLM judge as a verifier and as a scorer (``judge``), and a filter's scorer
and answer check as a tree search's guides (``search``). The package imports its own modules once, so
the judge is registered wherever these parts are built (``starmill.build``)."""

from starmill.adapters import judge, search  # noqa: F401  (the judge registers where its classes are defined)
