"""Benchmarks run side by side with a peer in the same run; results under bench/results/."""
