"""A live split-inference runtime: one OS process per physical node, talking gRPC (docs/live.md).

``deploy`` cuts a unit's model into its nodes and serves each from its own process;
``live-eval`` streams the test split through it while killing, hanging and restarting nodes,
and checks every live prediction against the simulated sweep.
"""
