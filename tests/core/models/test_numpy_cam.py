"""NumPy Grad-CAM through each member's head equals TensorFlow's GradientTape maps (oracle: TensorFlow)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.numpy_cam import HeadGeometry, head_geometry, maxpool_backward, numpy_grad_cam


@pytest.fixture(scope="module")
def members(tiny_demo_engine: Any) -> list[Any]:
    """The five tiny demo members (built once per session) and a 16-px Basic CNN."""
    from npc_desktop.core.models.architectures import build_member

    return [*tiny_demo_engine.bundle.models, build_member("basic_cnn", input_size=16, seed=3)]


def test_every_architecture_matches_gradient_tape(members: list[Any]) -> None:
    import keras

    from npc_desktop.core.models.architectures import member_info
    from npc_desktop.core.models.cam import GradCAM

    seen = set()
    for model in members:
        info = member_info(model)
        seen.add(info.architecture)
        view = keras.Model(model.input, [model.get_layer(info.cam_layer).output, model.get_layer("head_dense").output])
        x = np.random.default_rng(7).uniform(0, 255, (3, *info.input_size, 3)).astype(np.float32)
        activations, hidden = (np.asarray(v) for v in view(x, training=False))
        kernels = model.get_layer("head_dense").get_weights()[0], model.get_layer("logits").get_weights()[0]
        geometry = head_geometry(model, info.cam_layer)
        for cls in (0, 1):
            expected, _ = GradCAM(model, info.cam_layer).compute_map(x, cls)
            got = numpy_grad_cam(activations, hidden, *kernels, np.full(3, cls), geometry)
            assert got.shape == expected.shape
            limit = 1e-4 * max(1.0, float(np.abs(expected).max()))
            assert np.abs(got - expected).max() <= limit, (info.architecture, cls)
    assert seen == {"vgg16", "inception_v3", "resnet50", "inception_resnet_v2", "densenet121", "basic_cnn"}


def test_head_geometry_reads_the_pooling_between_cam_layer_and_head(members: list[Any]) -> None:
    from npc_desktop.core.models.architectures import member_info

    by_arch = {member_info(m).architecture: head_geometry(m, member_info(m).cam_layer) for m in members}
    assert by_arch["vgg16"] == HeadGeometry(((2, 2, 2, 2),), "gap")
    assert by_arch["basic_cnn"] == HeadGeometry(((2, 2, 2, 2),), "flatten")
    assert by_arch["densenet121"] == HeadGeometry((), "gap")
    assert HeadGeometry.from_json(by_arch["vgg16"].to_json()) == by_arch["vgg16"]
    with pytest.raises(ValueError):
        HeadGeometry.from_json('{"max_pools": [[2, 2]], "pool": "gap"}')


@pytest.mark.parametrize("pool", [(2, 2, 2, 2), (3, 3, 2, 2), (2, 3, 1, 2)])
def test_maxpool_backward_routes_to_the_max_like_tensorflow(pool: tuple[int, int, int, int]) -> None:
    import tensorflow as tf

    x = np.random.default_rng(1).normal(size=(2, 7, 8, 3)).astype(np.float32)
    upstream = np.random.default_rng(2).normal(size=(2, 1, 1, 3)).astype(np.float32)
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        pooled = tf.nn.max_pool2d(tensor, pool[:2], pool[2:], "VALID")
        loss = tf.reduce_sum(pooled * tf.broadcast_to(upstream, pooled.shape))
    expected = tape.gradient(loss, tensor).numpy()
    got = maxpool_backward(x, np.broadcast_to(upstream, pooled.shape), pool)
    np.testing.assert_allclose(got, expected, atol=1e-6)
