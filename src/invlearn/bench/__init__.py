"""Benchmark suites printing JSON (``invlearn bench SUITE``); their baselines are optional extras."""
