"""Vectorized, seeded physics of a simulated fabric: optics, channels, connectors, FEC, counters."""
