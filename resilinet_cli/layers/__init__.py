"""Registered, serialisable Keras layers for the alive-mask design (docs/architecture.md §2)."""

from resilinet_cli.layers.aggregate import Aggregate
from resilinet_cli.layers.device_view import DeviceView
from resilinet_cli.layers.failout import Failout
from resilinet_cli.layers.input_mux import InputMux
from resilinet_cli.layers.link_weight import LinkWeight
from resilinet_cli.layers.node_gate import LinkGate, NodeGate
from resilinet_cli.layers.replica_switch import PadChannels, ReplicaSwitch, RoleFlags
from resilinet_cli.layers.stand_in import StandIn

__all__ = [
    "Aggregate",
    "DeviceView",
    "Failout",
    "InputMux",
    "LinkGate",
    "LinkWeight",
    "NodeGate",
    "PadChannels",
    "ReplicaSwitch",
    "RoleFlags",
    "StandIn",
]
