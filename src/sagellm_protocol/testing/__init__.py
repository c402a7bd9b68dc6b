"""Mock-first testing kit for components built on the contract.

``example(T, **overrides)`` returns a valid instance of any public message type. The
hypothesis strategies live in ``sagellm_protocol.testing.strategies`` (install the
``testing`` extra for them); this package itself never imports hypothesis.
"""

from ._examples import example, example_data

__all__ = ["example", "example_data"]
