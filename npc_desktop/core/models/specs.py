"""What each member architecture is, without importing TensorFlow.

:data:`ARCHITECTURES` maps the architecture names used everywhere (bundle manifests, the command
line, training) to an :class:`ArchitectureSpec`: native and minimum input size, the
``preprocess_input`` convention of its ImageNet weights, the layer Grad-CAM reads, and the name of
the Keras ImageNet weights file (no top) that :func:`npc_desktop.core.models.architectures.build_member`
looks for in Keras' cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from npc_desktop.core.models.errors import ArchitectureError

__all__ = [
    "ArchitectureSpec",
    "ARCHITECTURES",
    "ENSEMBLE_ARCHITECTURES",
    "PREPROCESS_MODES",
    "DEFAULT_CLASS_NAMES",
    "get_spec",
    "normalise_input_size",
    "keras_cache_dir",
]

DEFAULT_CLASS_NAMES: tuple[str, ...] = ("III", "IVa")
"""The paper's two classes; bundles trained on other data record their own."""

PREPROCESS_MODES: tuple[str, ...] = ("caffe", "tf", "torch", "scale")
"""``preprocess_input`` conventions: caffe (BGR minus ImageNet mean), tf (-1..1), torch (ImageNet
mean/std on 0..1), scale (0..1, the Basic CNN)."""


@dataclass(frozen=True)
class ArchitectureSpec:
    """Fixed facts about one member architecture.

    Attributes
    ----------
    name
        Identifier used in manifests (``"vgg16"``).
    display_name
        Name shown to people (``"VGG16"``).
    native_size
        Input size ``(rows, columns)`` of its ImageNet weights, the default.
    min_size
        Smallest square side Keras accepts for it.
    preprocess
        One of :data:`PREPROCESS_MODES`.
    cam_layer
        Name of the last convolutional feature map in a member built by ``build_member``.
    application
        Name of the ``keras.applications`` constructor, or None for the Basic CNN.
    imagenet_file
        File name of the no-top ImageNet weights in Keras' cache (``~/.keras/models``), or None.
    """

    name: str
    display_name: str
    native_size: tuple[int, int]
    min_size: int
    preprocess: str
    cam_layer: str
    application: Optional[str]
    imagenet_file: Optional[str]


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    spec.name: spec
    for spec in (
        ArchitectureSpec(
            "vgg16", "VGG16", (224, 224), 32, "caffe", "block5_conv3", "VGG16",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        ArchitectureSpec(
            "inception_v3", "InceptionV3", (299, 299), 75, "tf", "mixed10", "InceptionV3",
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        ArchitectureSpec(
            "resnet50", "ResNet50", (224, 224), 32, "caffe", "conv5_block3_out", "ResNet50",
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        ArchitectureSpec(
            "inception_resnet_v2", "InceptionResNetV2", (299, 299), 75, "tf", "conv_7b_ac",
            "InceptionResNetV2", "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        ArchitectureSpec(
            "densenet121", "DenseNet121", (224, 224), 32, "torch", "relu", "DenseNet121",
            "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        ArchitectureSpec("basic_cnn", "Basic CNN", (150, 150), 8, "scale", "conv3", None, None),
    )
}
"""Every architecture ``build_member`` can build, by name."""

ENSEMBLE_ARCHITECTURES: tuple[str, ...] = (
    "vgg16", "inception_v3", "resnet50", "inception_resnet_v2", "densenet121"
)
"""The paper's five ensemble members (the Basic CNN is a baseline, not a member)."""


def get_spec(architecture: str) -> ArchitectureSpec:
    """The :class:`ArchitectureSpec` of a name.

    Raises
    ------
    ArchitectureError
        If the name is unknown (the message lists the known ones).
    """
    try:
        return ARCHITECTURES[architecture]
    except (KeyError, TypeError):
        known = ", ".join(ARCHITECTURES)
        raise ArchitectureError(f"unknown architecture {architecture!r}; known: {known}") from None


def normalise_input_size(
    architecture: str, input_size: Union[None, int, Sequence[int]]
) -> tuple[int, int]:
    """``(rows, columns)`` for an architecture: its native size when None, a square for an int.

    Raises
    ------
    ArchitectureError
        If the size is not two positive integers or is below the architecture's minimum.
    """
    spec = get_spec(architecture)
    if input_size is None:
        return spec.native_size
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        size = (input_size, input_size)
    else:
        try:
            size = tuple(int(v) for v in input_size)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ArchitectureError(f"input size {input_size!r} is not (rows, columns)") from None
        if len(size) != 2:
            raise ArchitectureError(f"input size {input_size!r} is not (rows, columns)")
    if min(size) < spec.min_size:
        raise ArchitectureError(
            f"{spec.display_name} needs an input of at least {spec.min_size}x{spec.min_size} pixels, "
            f"got {size[0]}x{size[1]}"
        )
    return (int(size[0]), int(size[1]))


def keras_cache_dir() -> Path:
    """Keras' model cache: ``$KERAS_HOME/models``, else ``~/.keras/models`` (what Keras' get_file uses)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"
