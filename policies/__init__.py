"""The TTBT2 CrossGuard policy pack (``pulumi preview --policy-pack policies``).

This file makes ``policies.ttbt2_policies`` one unambiguous module name from the repository root
(offline engine, tests, mypy). Pulumi itself runs ``__main__.py`` from inside this folder and
imports the package as ``ttbt2_policies``; nothing here runs then.
"""
