"""``mm-robot bench``: compute, live-graph latency, DDS delivery and (optionally) a soak, each
with the bounds measured in the same run; JSON + Markdown + plots in one directory.

Modules: ``bounds`` (matmul peak, copy bandwidth), ``compute`` (model and policy on one core),
``graph`` (latency through fusion_node + safety_controller_node over DDS), ``dds`` (image
delivery between two processes), ``process`` (CPU share and RSS from /proc), ``report``, ``run``
(the command). Importing this package imports nothing heavy.
"""
