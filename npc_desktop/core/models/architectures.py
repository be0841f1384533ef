"""Ensemble members: keras.applications bases (or the paper's Basic CNN) with the paper's binary head.

Public API
----------
``build_member(arch, *, input_size=None, class_names=("III", "IVa"), weights=None, ...)``
    A ``keras.Model`` for one of :data:`~.specs.ARCHITECTURES` ("vgg16", "inception_v3",
    "resnet50", "inception_resnet_v2", "densenet121", "basic_cnn").

Every member has the same layout and the same input convention::

    "patch"        Input (rows, cols, 3) float32, grey values 0..255 (see .inputs.to_model_input)
    "preprocess"   MemberPreprocessing: the architecture's own preprocess_input, inside the model
    ...            the base (keras.applications, include_top=False; its layers are flattened into
                   the member, so the Grad-CAM layer ``spec.cam_layer`` is ``model.get_layer(name)``)
    "pool"         GlobalAveragePooling2D (Flatten for the Basic CNN): the pooled features
    "head_dense"   Dense(dense_units, relu)
    "head_dropout" Dropout(dropout)
    "logits"       Dense(len(class_names)): the pre-softmax class scores (Grad-CAM's target)
    "probabilities" ClassProbabilities: softmax; its config records the class names

``MemberPreprocessing`` and ``ClassProbabilities`` are registered Keras layers (package
``npc_desktop``), so a saved member loads with ``keras.saving.load_model(path, safe_mode=True)`` once
:func:`custom_objects` has been called (``load_bundle`` does it). :func:`member_info` reads the
architecture, input size and class names back from a (loaded) model.

Frozen-base training on cached features
---------------------------------------
``parts = member_parts(model)`` gives two models that share the member's layer objects:

* ``parts.features``: ``patch -> pooled features`` (the member's input up to layer "pool");
* ``parts.head``: ``features -> probabilities`` (new ``Input`` of ``parts.feature_dim`` values,
  then the member's own "head_dense", "head_dropout", "logits" and "probabilities" layers).

Compute ``f = parts.features.predict(x)`` once per (augmented) patch and cache it; then
``parts.head.compile(...); parts.head.fit(f, y)`` trains exactly the member's head weights (the
layers are the same objects), after which the *member* predicts with the trained head and can be
saved with :func:`npc_desktop.core.models.bundle_writer.write_bundle`. To fine-tune the top of the base
afterwards, set ``layer.trainable`` on the member's layers and train the member itself.

ImageNet weights are never downloaded: ``weights="imagenet"`` loads the no-top file from Keras'
cache (:func:`~.specs.keras_cache_dir`) and raises :class:`~.errors.WeightsNotFoundError` naming
the file and the folder when it is not there. TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional, Sequence, Union

from npc_desktop.core.models.errors import ArchitectureError, WeightsNotFoundError
from npc_desktop.core.models.specs import DEFAULT_CLASS_NAMES, get_spec, keras_cache_dir, normalise_input_size

__all__ = [
    "MemberInfo",
    "MemberParts",
    "build_member",
    "custom_objects",
    "member_info",
    "member_parts",
    "imagenet_weights_path",
]

_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
HEAD_LAYERS: tuple[str, ...] = ("head_dense", "head_dropout", "logits", "probabilities")
"""Names of the head's layers after the pooled features, in order."""


@functools.lru_cache(maxsize=None)
def _layers() -> SimpleNamespace:
    """Define and register the custom layers (once; needs Keras, hence lazy)."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="npc_desktop")
    class MemberPreprocessing(keras.layers.Layer):
        """An architecture's ``preprocess_input`` as a layer (input: grey values 0..255, 3 channels)."""

        def __init__(self, architecture: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.architecture = architecture
            self.mode = get_spec(architecture).preprocess

        def call(self, x: Any) -> Any:
            x = ops.cast(x, "float32")
            if self.mode == "caffe":
                return ops.flip(x, axis=-1) - ops.convert_to_tensor(_IMAGENET_MEAN_BGR, "float32")
            if self.mode == "tf":
                return x / 127.5 - 1.0
            if self.mode == "torch":
                mean = ops.convert_to_tensor(_TORCH_MEAN, "float32")
                std = ops.convert_to_tensor(_TORCH_STD, "float32")
                return (x / 255.0 - mean) / std
            return x / 255.0

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "architecture": self.architecture}

    @keras.saving.register_keras_serializable(package="npc_desktop")
    class ClassProbabilities(keras.layers.Layer):
        """Softmax over the class scores; records the class names in its config."""

        def __init__(self, class_names: Sequence[str], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.class_names = [str(name) for name in class_names]

        def call(self, logits: Any) -> Any:
            return ops.softmax(logits, axis=-1)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "class_names": list(self.class_names)}

    return SimpleNamespace(MemberPreprocessing=MemberPreprocessing, ClassProbabilities=ClassProbabilities)


def custom_objects() -> dict[str, type]:
    """The custom layers by registered name, for ``keras.saving.load_model(custom_objects=...)``.

    Calling it also registers them, which safe-mode loading needs.
    """
    layers = _layers()
    return {
        "npc_desktop>MemberPreprocessing": layers.MemberPreprocessing,
        "npc_desktop>ClassProbabilities": layers.ClassProbabilities,
        "MemberPreprocessing": layers.MemberPreprocessing,
        "ClassProbabilities": layers.ClassProbabilities,
    }


def imagenet_weights_path(architecture: str) -> Path:
    """Where Keras' cache keeps the architecture's no-top ImageNet weights.

    Raises
    ------
    ArchitectureError
        For the Basic CNN, which has no ImageNet weights.
    """
    spec = get_spec(architecture)
    if spec.imagenet_file is None:
        raise ArchitectureError(f"{spec.display_name} has no ImageNet weights; use weights=None")
    return keras_cache_dir() / spec.imagenet_file


def _resolve_weights(architecture: str, weights: Union[None, str, Path]) -> Optional[Path]:
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        path = imagenet_weights_path(architecture)
        if not path.is_file():
            raise WeightsNotFoundError(
                path,
                f"ImageNet weights for {get_spec(architecture).display_name} are not on this machine: "
                f"obtain {path.name} (Keras applications release) and put it in {path.parent}, "
                "or pass the file's path as weights; nothing is downloaded",
            )
        return path
    path = Path(weights)
    if not path.is_file():
        raise WeightsNotFoundError(path, f"{path}: weights file not found")
    return path


def _basic_cnn(x: Any) -> Any:
    import keras

    for index, filters in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{index}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"maxpool{index}")(x)
    return x


def build_member(
    arch: str,
    *,
    input_size: Union[None, int, Sequence[int]] = None,
    class_names: Sequence[str] = DEFAULT_CLASS_NAMES,
    weights: Union[None, str, Path] = None,
    dense_units: int = 256,
    dropout: float = 0.5,
    name: Optional[str] = None,
    seed: Optional[int] = None,
) -> Any:
    """Build one member: base + the paper's head, preprocessing inside the model.

    Parameters
    ----------
    arch
        Architecture name, a key of :data:`~.specs.ARCHITECTURES`.
    input_size
        ``(rows, columns)`` or a square side; the architecture's native size when None.
    class_names
        The classes, in output order (at least two, unique).
    weights
        None for random initialisation; ``"imagenet"`` for the no-top ImageNet weights from Keras'
        cache (never downloaded); or a path to a local weights file for the base (the no-top
        ``.h5`` of keras.applications). Not applicable to the Basic CNN except None.
    dense_units, dropout
        Size of the head's hidden dense layer and its dropout rate.
    name
        Model name; the architecture name by default.
    seed
        If given, ``keras.utils.set_random_seed(seed)`` is called first (global) so that random
        initialisation is reproducible.

    Returns
    -------
    keras.Model
        Input ``(rows, columns, 3)`` float32 0..255; output class probabilities.

    Raises
    ------
    ArchitectureError
        Unknown architecture, too small an input, bad class names, or weights the base rejects.
    WeightsNotFoundError
        ``"imagenet"`` not in Keras' cache, or the weights path does not exist.
    """
    spec = get_spec(arch)
    size = normalise_input_size(arch, input_size)
    names = [str(c) for c in class_names]
    if len(names) < 2 or len(set(names)) != len(names) or not all(names):
        raise ArchitectureError(f"class_names must be at least two unique non-empty names, got {names}")
    if not (isinstance(dense_units, int) and dense_units > 0 and 0.0 <= dropout < 1.0):
        raise ArchitectureError(f"dense_units must be > 0 and 0 <= dropout < 1, got {dense_units}, {dropout}")
    if spec.application is None and weights is not None:
        raise ArchitectureError(f"{spec.display_name} is trained from scratch: weights must be None")
    weights_path = _resolve_weights(arch, weights)

    import keras

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    layers = _layers()
    inputs = keras.Input(shape=(size[0], size[1], 3), dtype="float32", name="patch")
    x = layers.MemberPreprocessing(arch, name="preprocess")(inputs)
    if spec.application is None:
        x = _basic_cnn(x)
        pooled = keras.layers.Flatten(name="pool")(x)
    else:
        factory = getattr(keras.applications, spec.application)
        base = factory(include_top=False, weights=None, input_tensor=x, input_shape=(size[0], size[1], 3))
        if weights_path is not None:
            try:
                base.load_weights(str(weights_path))
            except Exception as exc:  # keras raises ValueError/OSError with long texts
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ArchitectureError(
                    f"{weights_path}: cannot load as {spec.display_name} weights ({first[:200]})"
                ) from None
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base.output)
    x = keras.layers.Dense(dense_units, activation="relu", name="head_dense")(pooled)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(len(names), name="logits")(x)
    probabilities = layers.ClassProbabilities(names, name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name=name or arch)


@dataclass(frozen=True)
class MemberInfo:
    """What a member model says about itself (read from its layers).

    Attributes
    ----------
    architecture
        Architecture name.
    input_size
        ``(rows, columns)``.
    class_names
        Output classes in order.
    preprocess
        The ``preprocess_input`` convention.
    cam_layer
        The Grad-CAM layer's name.
    """

    architecture: str
    input_size: tuple[int, int]
    class_names: tuple[str, ...]
    preprocess: str
    cam_layer: str


def member_info(model: Any) -> MemberInfo:
    """Read architecture, input size and class names from a member built by :func:`build_member`.

    Raises
    ------
    ArchitectureError
        If the model does not have the member layout.
    """
    try:
        preprocess = model.get_layer("preprocess")
        probabilities = model.get_layer("probabilities")
        architecture = preprocess.architecture
        class_names = tuple(probabilities.class_names)
    except (ValueError, AttributeError):
        raise ArchitectureError(
            f"model {getattr(model, 'name', '?')!r} is not an NPC Desktop member "
            "(no 'preprocess' / 'probabilities' layers)"
        ) from None
    spec = get_spec(architecture)
    shape = model.input_shape
    model.get_layer(spec.cam_layer)  # must exist
    return MemberInfo(architecture, (int(shape[1]), int(shape[2])), class_names, spec.preprocess, spec.cam_layer)


@dataclass(frozen=True)
class MemberParts:
    """A member split at its pooled features; both parts share the member's layer objects.

    Attributes
    ----------
    features
        ``patch -> pooled features`` (frozen-base feature extractor).
    head
        ``pooled features -> probabilities`` (the trainable head).
    feature_dim
        Length of the pooled feature vector.
    """

    features: Any
    head: Any
    feature_dim: int


def member_parts(model: Any) -> MemberParts:
    """Split a member into feature extractor and head that share its weights (see the module doc).

    Raises
    ------
    ArchitectureError
        If the model does not have the member layout.
    """
    import keras

    member_info(model)
    pooled = model.get_layer("pool").output
    features = keras.Model(model.inputs, pooled, name=f"{model.name}_features")
    feature_dim = int(pooled.shape[-1])
    head_input = keras.Input(shape=(feature_dim,), dtype="float32", name="features")
    x = head_input
    for layer_name in HEAD_LAYERS:
        x = model.get_layer(layer_name)(x)
    head = keras.Model(head_input, x, name=f"{model.name}_head")
    return MemberParts(features, head, feature_dim)
