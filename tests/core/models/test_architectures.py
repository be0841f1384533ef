"""Members: the five keras.applications architectures and the Basic CNN with the paper's head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.architectures import build_member, member_info, member_parts
from npc_desktop.core.models.errors import ArchitectureError, WeightsNotFoundError
from npc_desktop.core.models.specs import ARCHITECTURES, ENSEMBLE_ARCHITECTURES, normalise_input_size
from tests.core.conftest import TINY_SIZES


def test_five_members_have_the_member_layout(tiny_demo_engine: Any) -> None:
    models = tiny_demo_engine.bundle.models
    assert [member_info(m).architecture for m in models] == list(ENSEMBLE_ARCHITECTURES)
    rng = np.random.default_rng(0)
    for model in models:
        info = member_info(model)
        size = TINY_SIZES[info.architecture]
        assert info.input_size == (size, size) and info.class_names == ("III", "IVa")
        assert model.get_layer(info.cam_layer).output.shape[-1] > 1
        probs = np.asarray(model(rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)))
        assert probs.shape == (2, 2)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
        names = [layer.name for layer in model.layers]
        assert names[:2] == ["patch", "preprocess"]
        assert names[-5:] == ["pool", "head_dense", "head_dropout", "logits", "probabilities"]


@pytest.mark.parametrize("arch", list(ENSEMBLE_ARCHITECTURES))
def test_preprocessing_layer_equals_keras_preprocess_input(tiny_demo_engine: Any, arch: str) -> None:
    import keras

    module = {
        "vgg16": keras.applications.vgg16, "resnet50": keras.applications.resnet50,
        "inception_v3": keras.applications.inception_v3,
        "inception_resnet_v2": keras.applications.inception_resnet_v2,
        "densenet121": keras.applications.densenet,
    }[arch]
    model = tiny_demo_engine.bundle.models[list(ENSEMBLE_ARCHITECTURES).index(arch)]
    # A colour input shows the channel order is right too (patches are grey, but the layer is general).
    x = np.random.default_rng(3).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    ours = np.asarray(model.get_layer("preprocess")(x))
    np.testing.assert_allclose(ours, module.preprocess_input(x.copy()), rtol=1e-6, atol=1e-4)


def test_basic_cnn_is_three_conv_pool_then_two_dense() -> None:
    model = build_member("basic_cnn", input_size=32, class_names=("meningioma", "glioma"))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 3 and kinds.count("MaxPooling2D") == 3 and kinds.count("Dense") == 2
    assert member_info(model).class_names == ("meningioma", "glioma")


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ArchitectureError, match="unknown architecture 'alexnet'; known: vgg16"):
        build_member("alexnet")
    with pytest.raises(ArchitectureError, match="InceptionV3 needs an input of at least 75x75"):
        build_member("inception_v3", input_size=40)
    with pytest.raises(ArchitectureError, match="class_names"):
        build_member("basic_cnn", input_size=32, class_names=("III", "III"))
    with pytest.raises(ArchitectureError, match="trained from scratch"):
        build_member("basic_cnn", weights="imagenet")
    assert normalise_input_size("vgg16", None) == (224, 224)
    assert normalise_input_size("inception_resnet_v2", None) == (299, 299)
    assert {a: s.native_size[0] for a, s in ARCHITECTURES.items()}["densenet121"] == 224


def test_missing_imagenet_weights_name_the_file_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    with pytest.raises(WeightsNotFoundError) as info:
        build_member("resnet50", input_size=32, weights="imagenet")
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(tmp_path / "keras-home" / "models") in message
    assert "nothing is downloaded" in message
    with pytest.raises(WeightsNotFoundError, match="weights file not found"):
        build_member("vgg16", input_size=32, weights=tmp_path / "nope.h5")


def test_imagenet_weights_come_from_the_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    cache = tmp_path / "keras-home" / "models"
    cache.mkdir(parents=True)
    with h5py.File(cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, source)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    member = build_member("vgg16", input_size=32, weights="imagenet")
    for name in ("block1_conv1", "block5_conv3"):
        for ours, theirs in zip(member.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, build_member("basic_cnn", input_size=32))
    with pytest.raises(ArchitectureError, match="cannot load as VGG16 weights"):
        build_member("vgg16", input_size=32, weights=wrong)


def test_member_parts_share_the_head_with_the_member() -> None:
    import keras

    member = build_member("densenet121", input_size=32, seed=5)
    parts = member_parts(member)
    x = np.random.default_rng(1).uniform(0, 255, (6, 32, 32, 3)).astype(np.float32)
    features = parts.features.predict(x, verbose=0)
    assert features.shape == (6, parts.feature_dim) == (6, 1024)
    np.testing.assert_allclose(parts.head.predict(features, verbose=0), member.predict(x, verbose=0), atol=1e-6)
    before = member.predict(x, verbose=0)
    base_before = member.get_layer("conv1_conv").get_weights()[0].copy()
    parts.head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    parts.head.fit(features, np.array([0, 1, 0, 1, 0, 1]), epochs=3, verbose=0)
    after = member.predict(x, verbose=0)
    assert np.abs(after - before).max() > 1e-3  # the member's own head was trained
    np.testing.assert_allclose(parts.head.predict(features, verbose=0), after, atol=1e-6)
    np.testing.assert_array_equal(member.get_layer("conv1_conv").get_weights()[0], base_before)


def test_member_survives_safe_mode_save_and_load(tmp_path: Path) -> None:
    import keras

    from npc_desktop.core.models.architectures import custom_objects

    member = build_member("basic_cnn", input_size=32, class_names=("a", "b", "c"), seed=2)
    member.save(tmp_path / "m.keras")
    custom_objects()
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    x = np.random.default_rng(2).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(member(x)))
    assert member_info(loaded) == member_info(member)
