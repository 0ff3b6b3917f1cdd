"""linkmargin core: what the collector, the analyzer and the lab share (models, catalog, wire format).

Imports no other part of the project (collector, analyzer, lab); see docs/ARCHITECTURE.md "Layering".
"""

__version__ = "0.1.0"
