"""Search for a design: a space, a cost model, a Ray Tune driver and the Pareto front.

The user guide is docs/search.md.
"""
