"""Search for a design: a space, a cost model, a Ray Tune driver and the Pareto front (docs/search.md)."""
