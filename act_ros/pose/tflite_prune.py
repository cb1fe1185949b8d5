"""Drop a TFLite model's unused outputs, and every operator that only they needed.

TFLite runs every operator of a subgraph, whether or not anyone reads its outputs. The BlazePose
landmark models compute a 256x256 segmentation mask and 3-D world landmarks next to the 2-D
landmarks, presence flag and heatmaps the top-down backend reads; the mask's decoder is about
half of the model's time (measured on one core: lite 10.1 -> 5.1 ms, full 14.6 -> 9.4 ms per
crop, outputs bit-identical). Dropping it is the one change made to those files.

The flatbuffer is edited in place, with the schema's field slots (tensorflow/compiler/mlir/lite/
schema/schema.fbs): the subgraph's operator vector keeps the needed operators in their order and
its output vector the kept outputs; nothing moves, so the result is the same bytes on every
machine and flatbuffers version (its sha256 can be pinned). Tensors and weights of the dropped
operators stay in the file, unused.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from flatbuffers.table import Table
from flatbuffers.util import GetBufferIdentifier

# vtable offsets of the fields used (4 + 2 x field id in schema.fbs)
_MODEL_SUBGRAPHS = 8  # Model.subgraphs: [SubGraph]
_SUBGRAPH_OUTPUTS = 8  # SubGraph.outputs: [int]
_SUBGRAPH_OPERATORS = 10  # SubGraph.operators: [Operator]
_OPERATOR_INPUTS = 6  # Operator.inputs: [int]
_OPERATOR_OUTPUTS = 8  # Operator.outputs: [int]


class TFLitePruneError(ValueError):
    pass


def _root(buf: bytearray) -> Table:
    if GetBufferIdentifier(buf, 0) != b"TFL3":
        raise TFLitePruneError("not a TFLite flatbuffer (file identifier is not TFL3)")
    (offset,) = struct.unpack_from("<I", buf, 0)
    return Table(buf, offset)


def _vector(table: Table, slot: int) -> tuple[int, int]:
    """(position of the first element, length) of a vector field; (0, 0) when absent."""
    offset = table.Offset(slot)
    if not offset:
        return 0, 0
    return table.Vector(offset), table.VectorLen(offset)


def _ints(table: Table, slot: int) -> list[int]:
    start, length = _vector(table, slot)
    return list(struct.unpack_from(f"<{length}i", table.Bytes, start)) if length else []


def _table_at(buf: bytearray, element: int) -> Table:
    """The table an element of a vector of tables points to."""
    (relative,) = struct.unpack_from("<I", buf, element)
    return Table(buf, element + relative)


def _subgraph(buf: bytearray) -> Table:
    start, count = _vector(_root(buf), _MODEL_SUBGRAPHS)
    if count != 1:
        raise TFLitePruneError(f"expected a model with one subgraph, found {count}")
    return _table_at(buf, start)


def subgraph_outputs(model: bytes) -> list[int]:
    """Tensor indices of the (only) subgraph's outputs."""
    return _ints(_subgraph(bytearray(model)), _SUBGRAPH_OUTPUTS)


def operator_count(model: bytes) -> int:
    return _vector(_subgraph(bytearray(model)), _SUBGRAPH_OPERATORS)[1]


def keep_outputs(model: bytes, keep: Sequence[int]) -> bytes:
    """``model`` with only the outputs at positions ``keep`` (of its output list, in that order)
    and the operators they depend on."""
    buf = bytearray(model)
    graph = _subgraph(buf)
    outputs = _ints(graph, _SUBGRAPH_OUTPUTS)
    if not keep or any(not 0 <= k < len(outputs) for k in keep) or len(set(keep)) != len(keep):
        raise TFLitePruneError(f"outputs to keep {list(keep)} do not name distinct ones of {len(outputs)}")
    kept_tensors = [outputs[k] for k in keep]

    ops_start, op_count = _vector(graph, _SUBGRAPH_OPERATORS)
    elements = [ops_start + 4 * i for i in range(op_count)]
    needed = set(kept_tensors)
    kept_ops = []
    for element in reversed(elements):  # operators are stored in execution (topological) order
        op = _table_at(buf, element)
        if needed.intersection(_ints(op, _OPERATOR_OUTPUTS)):
            kept_ops.append(element)
            needed.update(i for i in _ints(op, _OPERATOR_INPUTS) if i >= 0)
    kept_ops.reverse()

    # Vectors of tables hold offsets relative to each element's own position: re-aim each kept
    # one from its new slot, then shorten the vector.
    targets = [element + struct.unpack_from("<I", buf, element)[0] for element in kept_ops]
    for slot, target in enumerate(targets):
        position = ops_start + 4 * slot
        struct.pack_into("<I", buf, position, target - position)
    struct.pack_into("<I", buf, ops_start - 4, len(targets))

    outputs_start, _ = _vector(graph, _SUBGRAPH_OUTPUTS)
    struct.pack_into(f"<{len(kept_tensors)}i", buf, outputs_start, *kept_tensors)
    struct.pack_into("<I", buf, outputs_start - 4, len(kept_tensors))
    return bytes(buf)
