"""The Action Transformer (AcT) in Keras 3 (paper Sec. IV, Table I).

Each frame is a token: Dense(P -> D); a learnable [CLS] token is prepended and a learnable
positional embedding (T+1, D) is added (sliced to the actual length, so windows shorter than T
work without retraining: paper Fig. 9). L post-norm encoder layers, then [CLS] ->
Dense(head_width) -> Dense(classes) logits. Query/key/value are one fused Dense (same parameter
count as three, one matmul at run time).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from act_ros.model_sizes import act_size
from act_ros.preprocessing import NUM_FEATURES


@keras.saving.register_keras_serializable(package="act_ros")
class ClassTokenPositionalEmbedding(layers.Layer):
    """Prepend a learnable [CLS] token and add a learnable positional embedding."""

    def __init__(self, window_length: int, d_model: int, **kwargs):
        super().__init__(**kwargs)
        self.window_length = window_length
        self.d_model = d_model

    def build(self, input_shape):
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, self.d_model), initializer=init)
        self.position = self.add_weight(
            name="position", shape=(1, self.window_length + 1, self.d_model), initializer=init
        )

    def call(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        cls = ops.broadcast_to(self.cls_token, (batch, 1, self.d_model))
        x = ops.concatenate([cls, x], axis=1)
        return x + self.position[:, : length + 1, :]

    def get_config(self):
        return {**super().get_config(), "window_length": self.window_length, "d_model": self.d_model}


def token_dense(units: int, name: str, activation=None) -> layers.EinsumDense:
    """Dense over the last axis of (B, n, d) tokens. An einsum converts to ONE TFLite
    FULLY_CONNECTED; keras.layers.Dense on 3-D input goes through tensordot, whose dynamic
    reshapes split the XNNPACK graph and doubled the run time of AcT-micro."""
    return layers.EinsumDense(
        "btd,de->bte", output_shape=(None, units), bias_axes="e", activation=activation, name=name
    )


@keras.saving.register_keras_serializable(package="act_ros")
class SelfAttention(layers.Layer):
    """Multi-head self-attention, head dim D/H, fused QKV projection. Heads are constant
    slices of the fused projection (no reshapes of dynamic shapes: see ``token_dense``)."""

    def __init__(self, d_model: int, num_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.num_heads = d_model, num_heads
        self.head_dim = d_model // num_heads
        self.qkv = token_dense(3 * d_model, "qkv")
        self.out = token_dense(d_model, "out")

    def build(self, input_shape):
        self.qkv.build(input_shape)
        self.out.build(tuple(input_shape[:-1]) + (self.d_model,))

    def call(self, x, return_attention: bool = False):
        qkv = self.qkv(x)
        d, dh = self.d_model, self.head_dim
        heads, weights = [], []
        for h in range(self.num_heads):
            q = qkv[:, :, h * dh : (h + 1) * dh] * (dh**-0.5)
            k = qkv[:, :, d + h * dh : d + (h + 1) * dh]
            v = qkv[:, :, 2 * d + h * dh : 2 * d + (h + 1) * dh]
            w = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)  # B, n, n
            heads.append(ops.matmul(w, v))
            weights.append(w)
        y = heads[0] if self.num_heads == 1 else ops.concatenate(heads, axis=-1)
        y = self.out(y)
        return (y, ops.stack(weights, axis=1)) if return_attention else y

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="act_ros")
class EncoderLayer(layers.Layer):
    """Post-norm transformer encoder layer (LayerNorm eps 1e-6, FFN 4D with GELU)."""

    def __init__(self, d_model: int, num_heads: int, ffn_width: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.num_heads = d_model, num_heads
        self.ffn_width, self.dropout_rate = ffn_width, dropout
        self.attention = SelfAttention(d_model, num_heads, name="attention")
        self.drop1 = layers.Dropout(dropout)
        self.norm1 = layers.LayerNormalization(epsilon=1e-6, name="norm1")
        self.ffn1 = token_dense(ffn_width, "ffn1", activation="gelu")
        self.ffn2 = token_dense(d_model, "ffn2")
        self.drop2 = layers.Dropout(dropout)
        self.norm2 = layers.LayerNormalization(epsilon=1e-6, name="norm2")

    def build(self, input_shape):
        self.attention.build(input_shape)
        self.norm1.build(input_shape)
        self.ffn1.build(input_shape)
        self.ffn2.build(tuple(input_shape[:-1]) + (self.ffn_width,))
        self.norm2.build(input_shape)

    def call(self, x, training=None, return_attention: bool = False):
        if return_attention:
            a, weights = self.attention(x, return_attention=True)
        else:
            a, weights = self.attention(x), None
        x = self.norm1(x + self.drop1(a, training=training))
        f = self.ffn2(self.ffn1(x))
        x = self.norm2(x + self.drop2(f, training=training))
        return (x, weights) if return_attention else x

    def get_config(self):
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ffn_width": self.ffn_width,
            "dropout": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="act_ros")
class ClassToken(layers.Layer):
    """The [CLS] token of the sequence: (B, n, D) -> (B, D)."""

    def call(self, x):
        return x[:, 0, :]


def build_act(
    size: str,
    num_classes: int,
    window_length: int = 30,
    num_features: int = NUM_FEATURES,
    return_attention: bool = False,
) -> keras.Model:
    """AcT of ``size`` (a name in ``act_ros.model_sizes``). Input (batch, t <= T, features) -> logits.

    ``return_attention=True`` builds a model that also returns the per-layer attention weights
    (B, H, t+1, t+1), sharing nothing: load weights into it for introspection.
    """
    c = act_size(size)
    inputs = keras.Input(shape=(None, num_features), name="features")
    x = token_dense(c.d_model, "frame_projection")(inputs)
    x = ClassTokenPositionalEmbedding(window_length, c.d_model, name="embedding")(x)
    attentions = []
    for i in range(c.num_layers):
        encoder = EncoderLayer(c.d_model, c.num_heads, c.ffn_width, c.dropout, name=f"encoder_{i}")
        if return_attention:
            x, w = encoder(x, return_attention=True)
            attentions.append(w)
        else:
            x = encoder(x)
    cls = ClassToken(name="cls_output")(x)
    h = layers.Dense(c.head_width, name="head")(cls)
    logits = layers.Dense(num_classes, name="logits")(h)
    outputs = [logits, *attentions] if return_attention else logits
    return keras.Model(inputs, outputs, name=f"act_{size}")
