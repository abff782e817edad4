"""Benchmark suites printing JSON (``invlearn bench SUITE``); their baselines are optional extras.

Layering: above studies and below the CLI.
"""
