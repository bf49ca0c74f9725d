"""The peers' own test suites run against mlsd (see _harness.py)."""
