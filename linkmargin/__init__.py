"""linkmargin core: the physical model both the collector and the analyzer share.

Imports no other part of the project (collector, analyzer, lab); see DESIGN.md.
"""

__version__ = "0.1.0"
