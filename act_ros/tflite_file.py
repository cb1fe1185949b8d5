"""Read and write the TFLite flatbuffer itself: is this file a whole TFLite model, what tensors
does its graph hold, and the named metadata entries (``Model.metadata``: a name and a buffer)
in which act_ros keeps a model's description. No interpreter and no TensorFlow: the schema's
generated Python code from ai-edge-litert (the runtime), or the same code shipped by MediaPipe
on machines that run tflite-runtime instead (read only).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE_IDENTIFIER = b"TFL3"
# The TFLite converter aligns every weight buffer to 16 bytes; rewriting keeps that alignment.
BUFFER_ALIGNMENT = 16


class TfliteFileError(ValueError):
    """The file is not a whole TFLite model (empty, truncated, another format)."""


@functools.cache
def _schema(writable: bool = False):
    """The generated TFLite schema module. Writing needs the runtime's own copy (an older schema
    would drop fields it does not know when the model is re-serialised)."""
    try:
        from ai_edge_litert import schema_py_generated

        return schema_py_generated
    except ImportError:
        if writable:
            raise ImportError(
                "rewriting a .tflite file needs ai-edge-litert (pip install ai-edge-litert)"
            ) from None
    return mediapipe_schema()


@functools.cache
def mediapipe_schema():
    """MediaPipe's copy of the generated TFLite schema (for machines with tflite-runtime, which
    ships none). Loaded by path: importing the mediapipe package starts its whole task API."""
    found = importlib.util.find_spec("mediapipe")
    path = (
        None
        if found is None or not found.submodule_search_locations
        else Path(next(iter(found.submodule_search_locations)))
        / "tasks"
        / "metadata"
        / "schema_py_generated.py"
    )
    if path is None or not path.is_file():
        raise ImportError(
            "reading a .tflite file needs ai-edge-litert (or mediapipe, which ships the TFLite schema)"
        )
    spec = importlib.util.spec_from_file_location("act_ros._tflite_schema", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _type_names() -> dict[int, str]:
    types = _schema().TensorType
    return {v: k.lower() for k, v in vars(types).items() if not k.startswith("_")}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # the shape signature: -1 = dynamic
    dtype: str  # float32, float16, int8, ...
    constant: bool  # its data is stored in the file (a weight)


@dataclass(frozen=True)
class TfliteModel:
    path: Path
    size_bytes: int
    sha256: str
    weights_sha256: str  # of every constant tensor's data, in tensor order
    tensors: tuple[TensorInfo, ...]  # of the main subgraph
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict[str, bytes]

    def constant_dtypes(self) -> dict[str, int]:
        """Number of constant tensors of each dtype."""
        counts: dict[str, int] = {}
        for t in self.tensors:
            if t.constant:
                counts[t.dtype] = counts.get(t.dtype, 0) + 1
        return counts


def _buffers(model, size: int) -> list[bytes | None]:
    """Every buffer's bytes, checking each lies inside the file (a truncated file fails here)."""
    out: list[bytes | None] = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.Offset() or buf.Size():  # stored after the flatbuffer (models over 2 GB)
            if buf.Offset() + buf.Size() > size:
                raise TfliteFileError(f"buffer {i} ends at byte {buf.Offset() + buf.Size()}")
            out.append(None)
        elif buf.DataIsNone():
            out.append(b"")
        else:
            out.append(buf.DataAsNumpy().tobytes())
    return out


def _tensor(t, buffers: list[bytes | None]) -> TensorInfo:
    signature = t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else t.ShapeAsNumpy()
    shape = tuple(int(d) for d in signature) if isinstance(signature, np.ndarray) else ()
    index = t.Buffer()
    stored = 0 < index < len(buffers) and buffers[index] != b""
    return TensorInfo(
        name=(t.Name() or b"").decode("utf-8", "replace"),
        shape=shape,
        dtype=_type_names().get(t.Type(), f"type_{t.Type()}"),
        constant=stored,
    )


def read_tflite(path: str | Path) -> TfliteModel:
    """Parse ``path``; TfliteFileError naming the file and what was found if it is not a whole
    TFLite model."""
    path = Path(path)
    data = path.read_bytes()
    expected = "expected a TFLite model (flatbuffer with identifier 'TFL3')"
    if not data:
        raise TfliteFileError(f"{path}: empty file (0 bytes); {expected}")
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise TfliteFileError(
            f"{path}: not a TFLite model: identifier {data[4:8]!r} in its {len(data)} bytes; {expected}"
        )
    schema = _schema()
    try:
        model = schema.Model.GetRootAs(data, 0)
        buffers = _buffers(model, len(data))
        if model.SubgraphsLength() < 1:
            raise TfliteFileError("no subgraph")
        graph = model.Subgraphs(0)
        weights = hashlib.sha256()
        tensors = []
        for i in range(graph.TensorsLength()):
            t = graph.Tensors(i)
            tensors.append(_tensor(t, buffers))
            if tensors[-1].constant:
                weights.update(buffers[t.Buffer()])
        inputs = tuple(tensors[int(i)] for i in graph.InputsAsNumpy()) if graph.InputsLength() else ()
        outputs = tuple(tensors[int(i)] for i in graph.OutputsAsNumpy()) if graph.OutputsLength() else ()
        metadata = {}
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            name = (entry.Name() or b"").decode("utf-8", "replace")
            metadata[name] = buffers[entry.Buffer()] or b""
    except (IndexError, struct.error, ValueError, TypeError) as exc:
        # The Python flatbuffers reader has no verifier: reading past the end raises one of these.
        raise TfliteFileError(
            f"{path}: truncated or corrupt TFLite model ({len(data)} bytes: "
            f"{exc}); {expected}, re-export or copy it again"
        ) from None
    return TfliteModel(
        path=path,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        weights_sha256=weights.hexdigest(),
        tensors=tuple(tensors),
        inputs=inputs,
        outputs=outputs,
        metadata=metadata,
    )


@functools.cache
def _aligned_buffer_class(schema):
    """BufferT serialised with its data aligned to BUFFER_ALIGNMENT (the generated Pack aligns
    bytes to 1)."""

    class AlignedBuffer(schema.BufferT):
        def Pack(self, builder):  # noqa: N802 (the generated API's name)
            if self.data is None or not len(self.data):
                return super().Pack(builder)
            payload = np.asarray(self.data, np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            data = builder.EndVector()
            schema.BufferStart(builder)
            schema.BufferAddData(builder, data)
            return schema.BufferEnd(builder)

    return AlignedBuffer


def with_metadata(data: bytes, name: str, payload: bytes | None) -> bytes:
    """The model ``data`` with metadata entry ``name`` set to ``payload`` (added or replaced;
    None removes the entry, its buffer left empty); every other part is kept as it is."""
    import flatbuffers

    schema = _schema(writable=True)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    if any(b.offset or b.size for b in model.buffers or ()):
        raise TfliteFileError("models with buffers outside the flatbuffer (over 2 GB) are not supported")
    model.metadata = list(model.metadata or [])
    model.buffers = list(model.buffers or [])
    entry = next(
        (m for m in model.metadata if (m.name.decode() if isinstance(m.name, bytes) else m.name) == name),
        None,
    )
    blob = np.frombuffer(payload or b"", np.uint8).copy()
    if payload is None:
        if entry is not None:
            model.metadata.remove(entry)
            model.buffers[entry.buffer] = schema.BufferT()
    elif entry is None:
        model.buffers.append(schema.BufferT(data=blob))
        model.metadata.append(schema.MetadataT(name=name, buffer=len(model.buffers) - 1))
    else:
        model.buffers[entry.buffer] = schema.BufferT(data=blob)
    aligned = _aligned_buffer_class(schema)
    for b in model.buffers:
        b.__class__ = aligned
    builder = flatbuffers.Builder(len(data) + len(blob) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())
