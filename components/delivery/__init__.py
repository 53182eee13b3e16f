"""Application services as configuration: the ``ttbt2:services`` model and its rollback bound."""
