"""Benchmarks and the tools that fit and build the matcher's bundled data (not tests)."""
