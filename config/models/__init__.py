"""The settings domains: one pydantic model per concern, each field bound to its flat key."""
