"""Tests for tb_rnn_plugin.metadata: the format every series carries."""

import json

import pytest
from tensorboard.compat.proto import summary_pb2

from tb_rnn_plugin import metadata


def _content(md):
    return md.plugin_data.content


def test_create_sets_plugin_name_and_data_class():
    md = metadata.create_summary_metadata(metadata.ACTIVATION)
    assert md.plugin_data.plugin_name == "rnn"
    assert md.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert md.display_name == ""
    assert md.summary_description == ""


def test_companions_go_to_the_kept_plugin():
    stats = metadata.create_summary_metadata(metadata.STATS, of_tag="l/activation")
    assert stats.plugin_data.plugin_name == metadata.KEPT_PLUGIN_NAME == "rnn_kept"
    assert stats.data_class == summary_pb2.DATA_CLASS_TENSOR
    assert metadata.parse_plugin_metadata(_content(stats))["fields"] == list(metadata.STAT_FIELDS)
    pinned = metadata.create_summary_metadata(metadata.ACTIVATION, of_tag="l/activation")
    assert pinned.plugin_data.plugin_name == "rnn_kept"
    assert pinned.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    with pytest.raises(ValueError, match="of_tag"):
        metadata.create_summary_metadata(metadata.STATS)


def test_round_trip_all_fields():
    md = metadata.create_summary_metadata(
        metadata.STATE_GRADIENT,
        layer="bi",
        cell="LSTM",
        direction="backward",
        mask_tag="bi/mask",
        display_name="shown",
        description="some *markdown*",
    )
    assert md.display_name == "shown"
    assert md.summary_description == "some *markdown*"
    parsed = metadata.parse_plugin_metadata(_content(md))
    assert parsed == {
        "version": metadata.PROTO_VERSION,
        "kind": "state_gradient",
        "axes": ["sample", "timestep", "channel"],
        "layer": "bi",
        "cell": "LSTM",
        "direction": "backward",
        "mask_tag": "bi/mask",
        "cell_index": None,
        "channel_shape": None,
        "of_tag": None,
    }


@pytest.mark.parametrize("kind", metadata.KINDS)
def test_round_trip_each_kind_has_its_axes(kind):
    of_tag = "x/activation" if kind in metadata.COMPANION_TENSOR_KINDS else None
    gate = "f" if kind in (metadata.GATE_ACTIVATION, metadata.MEMORY_TIMESCALE) else None
    parsed = metadata.parse_plugin_metadata(
        _content(metadata.create_summary_metadata(kind, of_tag=of_tag, gate=gate))
    )
    assert parsed["kind"] == kind
    assert parsed.get("gate") == gate
    assert parsed["axes"] == list(metadata.AXES[kind])
    assert parsed["direction"] is None
    assert parsed["mask_tag"] is None


def test_a_gate_activation_names_its_gate():
    with pytest.raises(ValueError, match="needs gate"):
        metadata.create_summary_metadata(metadata.GATE_ACTIVATION)


def test_parse_survives_deeply_nested_json():
    content = b'{"kind": "activation", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    with pytest.raises(ValueError, match="nested too deeply"):
        metadata.parse_plugin_metadata(content)


def test_parse_names_a_newer_version_with_an_unknown_kind():
    with pytest.raises(ValueError, match="version 7.*upgrade tb-rnn-plugin"):
        metadata.parse_plugin_metadata(b'{"kind": "hologram", "version": 7}')
    # A newer version with a known kind is read, its new fields kept.
    parsed = metadata.parse_plugin_metadata(b'{"kind": "activation", "version": 7, "new": 1}')
    assert (parsed["version"], parsed["new"]) == (7, 1)


def test_round_trip_cell_index_and_channel_shape():
    parsed = metadata.parse_plugin_metadata(_content(metadata.create_summary_metadata(
        metadata.ACTIVATION, cell_index=1, channel_shape=(4, 5, 2)
    )))
    assert (parsed["cell_index"], parsed["channel_shape"]) == (1, [4, 5, 2])


def test_mask_axes_are_two_dimensional():
    assert metadata.AXES[metadata.MASK] == ("sample", "timestep")


def test_parse_accepts_str_and_bytes():
    raw = json.dumps({"kind": "mask"})
    assert metadata.parse_plugin_metadata(raw)["kind"] == "mask"
    assert metadata.parse_plugin_metadata(raw.encode("utf-8"))["kind"] == "mask"


def test_parse_older_content_missing_fields_read_as_none():
    parsed = metadata.parse_plugin_metadata(b'{"kind": "activation"}')
    assert parsed["kind"] == "activation"
    for field in ("layer", "cell", "direction", "mask_tag"):
        assert parsed[field] is None, field
    # No version field means "before versioning", not the current version.
    assert parsed["version"] == 0
    assert parsed["axes"] == ["sample", "timestep", "channel"]


def test_parse_newer_content_keeps_extra_fields():
    content = json.dumps(
        {
            "version": metadata.PROTO_VERSION + 1,
            "kind": "output_gradient",
            "layer": "lstm",
            "units": 32,
            "extra": {"nested": [1, 2]},
        }
    )
    parsed = metadata.parse_plugin_metadata(content)
    assert parsed["version"] == metadata.PROTO_VERSION + 1
    assert parsed["units"] == 32
    assert parsed["extra"] == {"nested": [1, 2]}
    assert parsed["layer"] == "lstm"
    assert parsed["cell"] is None


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "not JSON"),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"activation"', "not a JSON object"),
        (b"{}", "unknown kind"),
        (b'{"kind": "histogram"}', "unknown kind"),
        (b'{"kind": null}', "unknown kind"),
    ],
)
def test_parse_bad_content_raises_value_error(content, words):
    with pytest.raises(ValueError, match=words):
        metadata.parse_plugin_metadata(content)


def test_create_bad_kind_raises_value_error():
    with pytest.raises(ValueError, match="kind"):
        metadata.create_summary_metadata("histogram")


@pytest.mark.parametrize("direction", ["left", "Forward", ""])
def test_create_bad_direction_raises_value_error(direction):
    with pytest.raises(ValueError, match="direction"):
        metadata.create_summary_metadata(metadata.ACTIVATION, direction=direction)


@pytest.mark.parametrize("direction", [None, "forward", "backward"])
def test_create_good_directions(direction):
    md = metadata.create_summary_metadata(metadata.ACTIVATION, direction=direction)
    assert metadata.parse_plugin_metadata(_content(md))["direction"] == direction


def test_parse_unhashable_kind_raises_value_error():
    with pytest.raises(ValueError, match="unknown kind"):
        metadata.parse_plugin_metadata(b'{"kind": ["activation"]}')


@pytest.mark.parametrize(
    "rank, axes",
    [
        (1, ["column"]),
        (2, ["row", "column"]),
        (3, ["kernel_0", "row", "column"]),
        (5, ["kernel_0", "kernel_1", "kernel_2", "row", "column"]),
    ],
)
def test_weight_axes_follow_the_rank(rank, axes):
    for kind in metadata.WEIGHT_KINDS:
        created = metadata.create_summary_metadata(
            kind, rank=rank, matrix="kernel", gates=[{"name": "i", "start": 0, "stop": 2}]
        )
        assert created.plugin_data.plugin_name == metadata.PLUGIN_NAME
        assert created.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
        parsed = metadata.parse_plugin_metadata(created.plugin_data.content)
        assert parsed["axes"] == axes
        assert parsed["matrix"] == "kernel"
        assert parsed["gates"] == [{"name": "i", "start": 0, "stop": 2}]


def test_gate_stats_is_a_kept_tensor_with_fields_and_gates():
    created = metadata.create_summary_metadata(
        metadata.GATE_STATS, of_tag="l/kernel/weight", matrix="kernel", gates=None
    )
    assert created.plugin_data.plugin_name == metadata.KEPT_PLUGIN_NAME
    assert created.data_class == summary_pb2.DATA_CLASS_TENSOR
    parsed = metadata.parse_plugin_metadata(created.plugin_data.content)
    assert parsed["fields"] == list(metadata.GATE_STAT_FIELDS)
    assert parsed["axes"] == ["gate", "statistic"]
    assert parsed["gates"] is None and parsed["of_tag"] == "l/kernel/weight"
    with pytest.raises(ValueError, match="of_tag"):
        metadata.create_summary_metadata(metadata.GATE_STATS)


def test_histogram_metadata_names_its_bins_and_parsing_lists_the_edges():
    content = metadata.create_summary_metadata(
        metadata.GATE_HISTOGRAM, of_tag="w", matrix="kernel", gates=None
    ).plugin_data.content
    stored = json.loads(content)
    assert stored["bins"] == {"min_exponent": -9, "max_exponent": 3, "per_decade": 2}
    assert "bin_edges" not in stored  # 730 bytes per step saved
    edges = metadata.parse_plugin_metadata(content)["bin_edges"]
    assert edges == list(metadata.HISTOGRAM_EDGES) and len(edges) == 50
    assert edges[24:26] == [-1e-9, 1e-9] and edges[-1] == 1e3


@pytest.mark.parametrize("bins", [
    None, {"min_exponent": -9, "max_exponent": 3}, {"min_exponent": -9, "max_exponent": 3, "per_decade": 0},
    {"min_exponent": 3, "max_exponent": -9, "per_decade": 2},
    {"min_exponent": -300, "max_exponent": 300, "per_decade": 100},
    {"min_exponent": "-9", "max_exponent": 3, "per_decade": 2},
])
def test_bad_histogram_bins_are_refused(bins):
    content = json.dumps({"version": 2, "kind": "gate_histogram", "of_tag": "w", "bins": bins}).encode()
    with pytest.raises(ValueError, match="histogram bins"):
        metadata.parse_plugin_metadata(content)


def test_standalone_kinds_are_kept_series_of_the_whole_run():
    for kind in (metadata.PROBE_LOSS, metadata.PROBE_FINGERPRINT):
        built = metadata.create_summary_metadata(kind, names=["loss"] if kind == metadata.PROBE_LOSS else None)
        assert built.plugin_data.plugin_name == metadata.KEPT_PLUGIN_NAME
        with pytest.raises(ValueError, match="whole run"):
            metadata.create_summary_metadata(kind, of_tag="rnn/activation")
    parsed = metadata.parse_plugin_metadata(metadata.create_summary_metadata(
        metadata.PROBE_LOSS, names=["loss", "accuracy"]).plugin_data.content)
    assert parsed["names"] == ["loss", "accuracy"] and parsed["axes"] == ["metric"]


def test_token_and_dependency_series_are_big_series_with_their_options():
    tokens = metadata.create_summary_metadata(metadata.TOKENS, layer="rnn", vocabulary=["_", "a"])
    assert tokens.plugin_data.plugin_name == metadata.PLUGIN_NAME
    assert metadata.parse_plugin_metadata(tokens.plugin_data.content)["vocabulary"] == ["_", "a"]
    dependency = metadata.parse_plugin_metadata(metadata.create_summary_metadata(
        metadata.INPUT_DEPENDENCY, layer="rnn", targets=[3, 5], backward=False).plugin_data.content)
    assert dependency["targets"] == [3, 5] and dependency["axes"] == ["sample", "target", "timestep"]
