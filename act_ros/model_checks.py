"""The description of an AcT model checked against the graph it describes, from the tensors of
the .tflite file (no interpreter): input features, output size = number of classes, the
positional embeddings (one [1, T+1, D] constant per AcT model in the file: their count is the
ensemble size, their length bounds the window, their width is the size's D) and the weights'
dtypes (the precision). A description that lies is refused before anything runs.
"""

from __future__ import annotations

import re
from typing import Protocol

from act_ros.model_sizes import ACT_SIZES
from act_ros.tflite_file import TfliteModel, TensorInfo


class GraphClaims(Protocol):
    """What a description says about its graph (a ModelSpec; stated here so this module, which
    model_spec uses, does not import it back)."""

    num_features: int
    window_length: int
    dynamic_length: bool
    dynamic_batch: bool
    num_classes: int
    ensemble_size: int
    size: str
    precision: str


# The constant of act_ros.training.model.ClassTokenPositionalEmbedding ("embedding" layer) as the
# converter names it: act_micro_1/embedding_1/ReadVariableOp (the [CLS] token is
# .../embedding_1/BroadcastTo/ReadVariableOp, shape [1, 1, D]).
POSITIONAL_EMBEDDING = re.compile(r"(^|/)embedding(_\d+)?/ReadVariableOp$")


def positional_embeddings(graph: TfliteModel) -> list[TensorInfo]:
    return [
        t
        for t in graph.tensors
        if t.constant
        and POSITIONAL_EMBEDDING.search(t.name)
        and len(t.shape) == 3
        and t.shape[0] == 1
        and t.shape[1] >= 2
    ]


def weights_precision(graph: TfliteModel) -> str:
    """fp32 / fp16 / int8-dynamic from the dtypes of the constant tensors (the weights)."""
    dtypes = graph.constant_dtypes()
    if dtypes.get("int8"):
        return "int8-dynamic"
    if dtypes.get("float16"):
        return "fp16"
    return "fp32"


def graph_problems(spec: GraphClaims, graph: TfliteModel) -> list[str]:
    """Every way ``spec`` contradicts ``graph`` ([] = none)."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return [
            f"expected one input and one output tensor, found {len(graph.inputs)} and {len(graph.outputs)}"
        ]
    problems = []
    inp, out = graph.inputs[0].shape, graph.outputs[0].shape
    if len(inp) != 3 or inp[2] != spec.num_features:
        problems.append(
            f"input: description says [batch, frames, {spec.num_features}] features, graph takes {list(inp)}"
        )
    else:
        if inp[1] != -1 and (spec.dynamic_length or inp[1] != spec.window_length):
            problems.append(
                f"input length: description says "
                f"{'1..' if spec.dynamic_length else ''}{spec.window_length} frames, "
                f"graph takes exactly {inp[1]}"
            )
        if inp[0] != -1 and spec.dynamic_batch:
            problems.append(f"input batch: description says any batch size, graph takes exactly {inp[0]}")
    if len(out) != 2 or out[1] != spec.num_classes:
        problems.append(f"classes: description lists {spec.num_classes}, graph outputs {list(out)} scores")
    embeddings = positional_embeddings(graph)
    if embeddings:  # a graph act_ros did not export may name them otherwise: the probe still runs
        if len(embeddings) != spec.ensemble_size:
            problems.append(
                f"ensemble_size: description says {spec.ensemble_size}, graph holds "
                f"{len(embeddings)} AcT models (positional embeddings)"
            )
        positions = min(t.shape[1] for t in embeddings) - 1  # minus the [CLS] token
        if positions < spec.window_length:
            problems.append(
                f"window_length: description says {spec.window_length} frames, "
                f"graph's positional embedding holds {positions}"
            )
        widths = sorted({t.shape[2] for t in embeddings})
        size = ACT_SIZES.get(spec.size)
        if size is not None and widths != [size.d_model]:
            problems.append(
                f"size: description says {spec.size!r} (D={size.d_model}), graph's "
                f"tokens have D={'/'.join(map(str, widths))}"
            )
    found = weights_precision(graph)
    if found != spec.precision:
        dtypes = ", ".join(f"{n} {d}" for d, n in sorted(graph.constant_dtypes().items()))
        problems.append(
            f"precision: description says {spec.precision!r}, graph's weights are "
            f"{found!r} (constant tensors: {dtypes})"
        )
    return problems
