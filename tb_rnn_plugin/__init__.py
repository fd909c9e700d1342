"""tb-rnn-plugin: see inside recurrent networks while they train.

Everything users need is importable from here. The training-side names
(callback, summary ops) load TensorFlow, so they are imported on first use:
TensorBoard imports this package to load the plugin and must not pay for
(or need) TensorFlow.
"""

import importlib

_LAZY = {
    "RNNTensorBoard": "tb_rnn_plugin.summary_ops.callback",
    "activation": "tb_rnn_plugin.summary_ops.summary",
    "output_gradient": "tb_rnn_plugin.summary_ops.summary",
    "state_gradient": "tb_rnn_plugin.summary_ops.summary",
    "timestep_mask": "tb_rnn_plugin.summary_ops.summary",
    "timestep_tensor": "tb_rnn_plugin.summary_ops.summary",
    "compute_timestep_tensors": "tb_rnn_plugin.summary_ops.probe",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError("module 'tb_rnn_plugin' has no attribute %r" % name)
