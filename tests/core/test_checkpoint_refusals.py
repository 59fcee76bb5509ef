"""Malicious or broken checkpoints are refused with one line naming the file and the reason; nothing in them runs."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import pytest
import torch
from checkpoint_fixtures import (
    GlobalName,
    Inert,
    PersistentIdMarker,
    Reduce,
    edm_snapshot,
    evil,
    evil_storage_tensor,
    pickle_bytes,
    stock_persistence_module,
    write_edm_pickle,
)

from diffviews_core.checkpoints import inspect_checkpoint, load_network
from diffviews_core.cli.main import main
from diffviews_core.errors import CheckpointError
from diffviews_core.networks import TINY


@pytest.fixture
def tripwire(tmp_path):
    path = tmp_path / "TRIPWIRE"
    yield path
    assert not path.exists(), "code stored in the checkpoint was executed"


@pytest.mark.parametrize("how", ["os.system", "builtins.eval", "subprocess.run", "subprocess.Popen"])
def test_positive_control_each_payload_fires_the_tripwire_under_the_stock_unpickler(tmp_path, how):
    """The refusal tests check that the tripwire stays absent; here the same payloads, read by ``pickle.loads``,
    create it, so an absent tripwire means the loader refused them, not that they were harmless."""
    wire = tmp_path / "TRIPWIRE"
    loaded = pickle.loads(pickle_bytes(evil(wire, how), wire))  # noqa: S301 (the behaviour under test)
    if how == "subprocess.Popen":
        loaded.wait(timeout=30)
    assert wire.exists()


def test_positive_control_module_src_fires_the_tripwire_under_a_trusting_loader(tiny_net, tmp_path):
    """A checkpoint's ``module_src`` is a tripwire too: a loader that executes it, as NVIDIA's does, creates it."""
    wire = tmp_path / "TRIPWIRE"
    path = write_edm_pickle(tmp_path / "net.pkl", edm_snapshot(tiny_net), TINY, tripwire=wire)
    with stock_persistence_module(), open(path, "rb") as fh, pytest.raises(SystemExit, match="module_src was executed"):
        pickle.load(fh)  # noqa: S301 (the behaviour under test)
    assert wire.exists()
    wire.unlink()
    load_network(path)  # the project's loader reads the same file without running it
    assert not wire.exists()


def refused(path, *fragments: str) -> CheckpointError:
    """Load ``path``, expect a clean one-line CheckpointError naming the file and containing ``fragments``."""
    with pytest.raises(CheckpointError) as info:
        load_network(path)
    err = info.value
    message = str(err)
    assert message.startswith(str(path)) and "\n" not in message
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    for fragment in fragments:
        assert fragment in err.reason
    return err


@pytest.mark.parametrize(
    ("how", "where", "reason"),
    [
        ("os.system", "top", "refused global os.system"),
        ("builtins.eval", "ema", "refused global builtins.eval"),
        ("subprocess.run", "top", "refused global subprocess.run"),
        ("subprocess.Popen", "top", "refused global subprocess.Popen"),
    ],
)
def test_dangerous_globals_are_refused(tiny_net, tmp_path, tripwire, how, where, reason):
    if where == "top":  # before the network: refused while reading the first bytes
        top = {"payload": evil(tripwire, how), **edm_snapshot(tiny_net)}
        path = write_edm_pickle(tmp_path / "evil.pkl", top, TINY, tripwire=tripwire)
    else:  # an attribute of the EDMPrecond, after all its weights
        top = edm_snapshot(tiny_net)
        path = write_edm_pickle(
            tmp_path / "evil.pkl", top, TINY, tripwire=tripwire, ema_extra={"payload": evil(tripwire, how)}
        )
    refused(path, reason)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (Reduce(GlobalName("numpy", "dtype"), ("O", False, True)), "numpy dtype 'O' (only numeric dtypes"),
        (
            Reduce(GlobalName("torch._utils", "_rebuild_parameter_with_state"), (torch.ones(1), True, {}, {"x": 1})),
            "parameter with extra Python state",
        ),
        (
            Reduce(GlobalName("torch._utils", "_rebuild_parameter"), (torch.ones(1), True, OrderedDict(h=print))),
            "refused global builtins.print",
        ),
    ],
)
def test_allowed_globals_with_dangerous_arguments_are_refused(tiny_net, tmp_path, tripwire, payload, reason):
    top = {"payload": payload, **edm_snapshot(tiny_net)}
    refused(write_edm_pickle(tmp_path / "args.pkl", top, TINY, tripwire=tripwire), reason)


def test_malicious_storage_blob_is_refused(tiny_net, tmp_path, tripwire):
    blob_tensor = evil_storage_tensor(tripwire, (128, 32))
    path = write_edm_pickle(
        tmp_path / "blob.pkl",
        edm_snapshot(tiny_net),
        TINY,
        tripwire=tripwire,
        tensor_overrides={"model.map_layer0.weight": blob_tensor},
    )
    assert b"os\nsystem\n" in path.read_bytes()  # the payload is really inside the blob
    refused(path, "storage blob refused by torch's weights-only loader", "os.system")


def test_unknown_class_is_refused(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(
        tmp_path / "cls.pkl",
        edm_snapshot(tiny_net),
        TINY,
        tripwire=tripwire,
        class_names={"model.enc.8x8_block0": "EvilBlock"},
    )
    refused(path, "unknown class 'EvilBlock' at ema.model.enc.8x8_block0")


def test_unknown_top_level_class_stays_inert(tiny_net, tmp_path, tripwire):
    top = {**edm_snapshot(tiny_net), "augment_pipe": Inert("AugmentPipe", {"p": 0.1})}
    net, info = load_network(write_edm_pickle(tmp_path / "aug.pkl", top, TINY, tripwire=tripwire))
    assert info["top_level"]["augment_pipe"] == "AugmentPipe"


def test_wrong_persistence_version_is_refused(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(tmp_path / "v5.pkl", edm_snapshot(tiny_net), TINY, tripwire=tripwire, version=5)
    refused(path, "persistence format version 5 (only 6 is supported)")


def test_persistent_ids_are_refused(tmp_path, tripwire):
    path = tmp_path / "pid.pkl"
    path.write_bytes(pickle_bytes({"ema": PersistentIdMarker()}, tripwire))
    refused(path, "refused persistent id")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x02ctorch._utils\n_rebuild_parameter\n}b.", "BUILD applied to a global"),
        (b"\x80\x02ctorch.nn.modules.container\nModuleDict\n}b.", "not a valid EDM persistence pickle (TypeError"),
    ],
)
def test_build_cannot_modify_the_allowed_globals(tmp_path, data, reason):
    path = tmp_path / "build.pkl"
    path.write_bytes(data)
    refused(path, reason)


def test_truncated_pickle_is_refused(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(tmp_path / "cut.pkl", edm_snapshot(tiny_net), TINY, tripwire=tripwire)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    refused(path, "truncated or corrupt pickle")
    with pytest.raises(CheckpointError, match="truncated"):
        inspect_checkpoint(path)


def test_unsupported_constructor_argument_is_refused(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(
        tmp_path / "kw.pkl", edm_snapshot(tiny_net), {**TINY, "encoder_type": "skip"}, tripwire=tripwire
    )
    refused(path, "unsupported network argument 'encoder_type'")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"tensor_overrides": {"model.out_conv.bias": None}}, "1 missing keys (e.g. model.out_conv.bias)"),
        ({"ema_extra": {"_buffers": {"stray": torch.zeros(2)}}}, "1 unexpected keys (e.g. stray)"),
        ({"tensor_overrides": {"model.out_conv.bias": torch.zeros(4)}}, "shape mismatch at model.out_conv.bias"),
    ],
)
def test_weights_that_do_not_fit_are_refused(tiny_net, tmp_path, tripwire, options, reason):
    path = write_edm_pickle(tmp_path / "fit.pkl", edm_snapshot(tiny_net), TINY, tripwire=tripwire, **options)
    refused(path, reason)


def test_cli_reports_a_refusal_in_one_line(tiny_net, tmp_path, tripwire, capsys):
    top = {"payload": evil(tripwire), **edm_snapshot(tiny_net)}
    path = write_edm_pickle(tmp_path / "evil.pkl", top, TINY, tripwire=tripwire)
    assert main(["checkpoint", "inspect", str(path)]) == CheckpointError.exit_code
    err = capsys.readouterr().err
    assert err.strip() == f"diffviews: error: {path}: refused global os.system"
