"""The two ways to probe one layer, for tests that check both against the
same independent references: in place in the whole model (ModelProbe, what
the callback uses) and on the model split at the layer (LayerProbe, what
the gradient horizon builds on)."""

import pytest

from tb_rnn_plugin.summary_ops.model_probe import ModelProbe
from tb_rnn_plugin.summary_ops.probe import UnsupportedLayerError
from tb_rnn_plugin.summary_ops.split_probe import LayerProbe


class InPlaceProbe:
    """ModelProbe of one layer, called like LayerProbe: raises
    UnsupportedLayerError where ModelProbe notes the layer unsupported."""

    def __init__(self, model, layer):
        self.layer = layer
        self.probe = ModelProbe(model, [layer])
        self._raise_if_unsupported()

    def __call__(self, x, y=None, sample_weight=None):
        self._raise_if_unsupported()
        result = self.probe(x, y, sample_weight)
        self._raise_if_unsupported()
        return result["layers"][self.layer]

    def _raise_if_unsupported(self):
        if self.layer in self.probe.unsupported:
            raise UnsupportedLayerError(self.probe.unsupported[self.layer])


@pytest.fixture(params=["in_place", "split"])
def make_probe(request):
    """A probe class of each kind: make_probe(model, layer)(x, y)."""
    return {"in_place": InPlaceProbe, "split": LayerProbe}[request.param]
