"""The failure sweep: a trained model's accuracy under every combination of dead nodes.

``node_graph`` cuts a model into its nodes, ``plan`` finds the work combinations share,
``sweep`` runs it (and scores weighted accuracy), ``scoring`` serves single combinations and
single examples to the estimators.
"""
