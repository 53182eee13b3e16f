"""Reusable ComponentResources of the TTBT2 platform, grouped by cloud and concern."""
