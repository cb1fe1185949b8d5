"""Pipelines built from node parameters (ROS-free): the one place that turns the parameter
tables of `act_ros.parameters` into a pose pipeline and an action recognizer.

The nodes, `act-ros run` and the non-ROS bag evaluation all build their pipelines here, so the
same parameters always give the same computation. The algorithm modules (`recognizer`,
`pose.pipeline`) know nothing about parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from act_ros.layouts import COCO17
from act_ros.parameters import ACT_NODE_PARAMETERS, POSE_NODE_PARAMETERS, resolve
from act_ros.pose.pipeline import PosePipeline
from act_ros.pose.variants import SMALL_IMAGE_SIDE, variant_or_default
from act_ros.recognizer import ActionRecognizer, RecognizerConfig


def estimator_options(p: Mapping[str, Any]) -> dict[str, Any]:
    """What ``create_estimator(p["backend"], ...)`` gets from resolved pose node parameters:
    each built-in backend its own, another backend what every backend takes."""
    options: dict[str, Any] = {"num_poses": p["num_poses"], "model_path": p["model_path"] or None}
    if p["backend"] == "topdown":
        options.update(
            variant=variant_or_default("topdown", p["model_variant"]),
            min_detection_confidence=p["detector_threshold"],
            min_presence_confidence=p["min_presence_confidence"],
            detection_interval=p["detection_interval"],
            crop_margin=p["crop_margin"],
            num_threads=p["num_threads"],
        )
    elif p["backend"] == "mediapipe":
        options.update(
            variant=variant_or_default("mediapipe", p["model_variant"]),
            min_detection_confidence=p["min_detection_confidence"],
            min_presence_confidence=p["min_presence_confidence"],
            min_tracking_confidence=p["min_tracking_confidence"],
        )
    return options


def pose_pipeline_from_parameters(overrides: Mapping[str, Any] | None = None) -> PosePipeline:
    """The pose node's pipeline (estimator + tracker) from its parameters."""
    from act_ros.pose.base import create_estimator
    from act_ros.pose.tracking import PoseTracker

    p = resolve(POSE_NODE_PARAMETERS, overrides)
    estimator = create_estimator(p["backend"], **estimator_options(p))
    return PosePipeline(
        estimator,
        PoseTracker(max_age_s=p["track_max_age"]),
        p["max_image_width"],
        SMALL_IMAGE_SIDE.get(p["backend"], 0),
    )


def reject_setting(value: float, model_rule: str, model_threshold: float) -> tuple[str, float]:
    """(rule, threshold) the ``unknown_threshold`` parameter puts in effect: negative = the
    model's own rule and threshold (its description), else the probability rule at ``value``."""
    return (str(model_rule), float(model_threshold)) if value < 0 else ("max_probability", float(value))


def recognizer_config(
    p: Mapping[str, Any],
    window_length: int,
    frame_rate: float,
    model_threshold: float = 0.0,
    model_rule: str = "max_probability",
) -> RecognizerConfig:
    """The recognizer's configuration from resolved AcT node parameters, for a model of
    ``window_length`` frames trained at ``frame_rate`` fps (0 = unknown) whose description
    sets ``model_rule`` at ``model_threshold`` as its reject option."""
    window = p["window_length"] or window_length
    rule, threshold = reject_setting(p["unknown_threshold"], model_rule, model_threshold)
    return RecognizerConfig(
        window_length=window,
        min_frames=min(p["min_frames"], window),
        stride=p["stride"],
        frame_rate=p["sample_rate"] or frame_rate,
        track_timeout_s=p["track_timeout"],
        smoothing=p["smoothing"],
        unknown_threshold=threshold,
        unknown_rule=rule,
        max_tracks=p["max_people"],
    )


def recognizer_from_parameters(overrides: Mapping[str, Any] | None = None) -> ActionRecognizer:
    """An ActionRecognizer with its model, from the AcT node's parameters.

    Fails here, with the model path and the expected description, when the model is missing or
    does not match.
    """
    from act_ros.runtime import ActClassifier, shipped_model_path

    p = resolve(ACT_NODE_PARAMETERS, overrides)
    paths = [s.strip() for s in str(p["model_path"]).split(",") if s.strip()]
    classifier = ActClassifier(
        paths or shipped_model_path(p["model_size"]), num_threads=p["num_threads"], expected_layout=COCO17
    )
    frame_rate = float(classifier.spec.frame_rate or 0.0)
    return ActionRecognizer(
        classifier,
        recognizer_config(
            p, classifier.window_length, frame_rate, classifier.unknown_threshold, classifier.reject_rule
        ),
    )
