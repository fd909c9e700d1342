"""tb-rnn-plugin: see inside recurrent networks while they train.

Everything users need is importable from here. The training-side names
(callback, summary ops) load TensorFlow, so they are imported on first use:
TensorBoard imports this package to load the plugin and must not pay for
(or need) TensorFlow.
"""

import importlib
import os

# In a source checkout summary_ops/ and frontend/ sit beside this folder (the
# product card's layout); setup.py installs them inside this package. Python
# run from the checkout's root finds this folder first, whatever is installed,
# so let its subpackages resolve to their siblings in the same checkout rather
# than fail (or come from another copy). An installed package has them inside.
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not os.path.isdir(os.path.join(os.path.dirname(__file__), "summary_ops")) and all(
    os.path.isfile(os.path.join(_CHECKOUT, *parts))
    for parts in (("setup.py",), ("summary_ops", "__init__.py"), ("frontend", "__init__.py"))
):
    __path__.append(_CHECKOUT)

_LAZY = {
    "RNNTensorBoard": "tb_rnn_plugin.summary_ops.callback",
    "activation": "tb_rnn_plugin.summary_ops.summary",
    "output_gradient": "tb_rnn_plugin.summary_ops.summary",
    "state_gradient": "tb_rnn_plugin.summary_ops.summary",
    "timestep_mask": "tb_rnn_plugin.summary_ops.summary",
    "timestep_tensor": "tb_rnn_plugin.summary_ops.summary",
    "gate_activation": "tb_rnn_plugin.summary_ops.summary",
    "cell_state": "tb_rnn_plugin.summary_ops.summary",
    "weight": "tb_rnn_plugin.summary_ops.summary",
    "weight_gradient": "tb_rnn_plugin.summary_ops.summary",
    "unit_health": "tb_rnn_plugin.summary_ops.summary",
    "memory_timescales": "tb_rnn_plugin.summary_ops.summary",
    "gradient_horizon": "tb_rnn_plugin.summary_ops.summary",
    "labels": "tb_rnn_plugin.summary_ops.summary",
    "probe_loss": "tb_rnn_plugin.summary_ops.run_summary",
    "input_dependency": "tb_rnn_plugin.summary_ops.dependency_summary",
    "tokens": "tb_rnn_plugin.summary_ops.input_summary",
    "input_features": "tb_rnn_plugin.summary_ops.input_summary",
    "probe_fingerprint": "tb_rnn_plugin.summary_ops.input_summary",
    "fingerprint_of": "tb_rnn_plugin.summary_ops.input_summary",
    "compute_timestep_tensors": "tb_rnn_plugin.summary_ops.model_probe",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError("module 'tb_rnn_plugin' has no attribute %r" % name)
