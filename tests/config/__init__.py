"""Tests of the stack settings in ``config/``."""
