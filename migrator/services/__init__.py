"""Use cases: the only layer that mixes the database, collection, analyzers and planner."""
