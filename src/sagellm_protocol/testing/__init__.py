"""Mock-first testing kit for components built on the contract (no GPU, no model).

* ``example(T, **overrides)``: a valid instance of any public message type.
* ``MockEngine``: a deterministic engine that turns a Request into a valid Response or a
  valid stream of events, with realistic simulated timings and Metrics, and injectable faults.
* ``sagellm_protocol.testing.strategies``: hypothesis strategies for every message (install
  the ``testing`` extra); this package itself never imports hypothesis.
"""

from ._examples import example, example_data
from ._mock_engine import VOCABULARY, MockEngine

__all__ = ["VOCABULARY", "MockEngine", "example", "example_data"]
