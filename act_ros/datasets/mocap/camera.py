"""Random pinhole cameras of real robots and phones, and projection of 3-D points into them.

Intrinsics come from data sheets (horizontal field of view at the stream's resolution, square
pixels, principal point at the centre); lens distortion is left out (the pose backend sees
rectified or near-pinhole images). Extrinsics are drawn around the person: azimuth all round,
horizontal distance 1.5-10 m (log-uniform: near people are common for a robot), camera height
0.5-2.5 m, aimed near the person with some slack so the person is not always centred, and kept
only when the resulting elevation (downward pitch) lies in -10..45 degrees.

World frame: z up, metres (:mod:`.motion`). Camera frame: OpenCV (x right, y down, z forward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# name, image width, height, horizontal field of view (degrees), from the makers' data sheets.
REAL_CAMERAS: tuple[tuple[str, int, int, float], ...] = (
    ("Intel RealSense D435 RGB 1280x720", 1280, 720, 69.0),
    ("Intel RealSense D455 RGB 1280x720", 1280, 720, 90.0),
    ("Raspberry Pi Camera Module 2 1640x1232", 1640, 1232, 62.2),
    ("Raspberry Pi Camera Module 3 1536x864", 1536, 864, 66.0),
    ("Raspberry Pi Camera Module 3 Wide 1536x864", 1536, 864, 102.0),
    ("Logitech C920 1920x1080", 1920, 1080, 70.4),
    ("Orbbec Astra RGB 640x480", 640, 480, 60.0),
    ("Microsoft Kinect v2 colour 1920x1080", 1920, 1080, 84.1),
    ("Azure Kinect colour 1280x720", 1280, 720, 90.0),
    ("Phone main camera 1920x1080", 1920, 1080, 66.0),
)
AZIMUTH_DEG = (0.0, 360.0)
ELEVATION_DEG = (-10.0, 45.0)
DISTANCE_M = (1.5, 10.0)
HEIGHT_M = (0.5, 2.5)
ROLL_DEG = 3.0  # standard deviation: a robot's camera is mounted level, not perfectly
AIM_SLACK = 0.35  # aim point offset, as a fraction of the half field of view
CAMERA_FIELDS = (
    "fx",
    "fy",
    "cx",
    "cy",
    "width",
    "height",
    "azimuth_deg",
    "elevation_deg",
    "distance_m",
    "height_m",
    "roll_deg",
)


@dataclass(frozen=True)
class Camera:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    rotation: np.ndarray  # (3, 3) world -> camera
    position: np.ndarray  # (3,) camera centre, world
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    distance_m: float = 0.0
    height_m: float = 0.0
    roll_deg: float = 0.0
    name: str = ""

    def as_vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in CAMERA_FIELDS], dtype=np.float32)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) world points -> (..., 2) pixels and (...) depth along the optical axis."""
        cam = (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation.T
        z = cam[..., 2]
        safe = np.where(z > 1e-6, z, np.nan)
        u = self.fx * cam[..., 0] / safe + self.cx
        v = self.fy * cam[..., 1] / safe + self.cy
        return np.stack([u, v], axis=-1), z

    def inside(self, pixels: np.ndarray, depth: np.ndarray, min_depth: float = 0.2) -> np.ndarray:
        """Which projected points land in the image, in front of the camera."""
        u, v = pixels[..., 0], pixels[..., 1]
        with np.errstate(invalid="ignore"):
            return (depth > min_depth) & (u >= 0) & (u < self.width) & (v >= 0) & (v < self.height)


def look_rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """World -> camera rotation of a camera looking along azimuth ``yaw`` (radians from +x,
    counter-clockwise), pitched down by ``pitch``, rolled by ``roll`` about its optical axis."""
    forward = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), -math.sin(pitch)])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    down = np.cross(forward, right)
    r = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    c, s = math.cos(roll), math.sin(roll)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ r


def intrinsics(width: int, height: int, hfov_deg: float) -> tuple[float, float, float, float]:
    fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return fx, fx, width / 2.0, height / 2.0


def camera_at(
    target: np.ndarray,
    azimuth_deg: float,
    distance_m: float,
    height_m: float,
    width: int,
    height: int,
    hfov_deg: float,
    aim: np.ndarray | None = None,
    roll_deg: float = 0.0,
    name: str = "",
) -> Camera:
    """A camera ``distance_m`` from ``target`` (horizontally) on azimuth ``azimuth_deg`` (seen
    from the target), ``height_m`` above the floor, looking at ``aim`` (default: ``target``)."""
    target = np.asarray(target, dtype=np.float64)
    az = math.radians(azimuth_deg)
    position = np.array(
        [target[0] + distance_m * math.cos(az), target[1] + distance_m * math.sin(az), height_m]
    )
    aim = target if aim is None else np.asarray(aim, dtype=np.float64)
    d = aim - position
    yaw = math.atan2(d[1], d[0])
    pitch = math.atan2(-d[2], math.hypot(d[0], d[1]))
    fx, fy, cx, cy = intrinsics(width, height, hfov_deg)
    return Camera(
        fx,
        fy,
        cx,
        cy,
        int(width),
        int(height),
        look_rotation(yaw, pitch, math.radians(roll_deg)),
        position,
        azimuth_deg=float(azimuth_deg % 360.0),
        elevation_deg=math.degrees(pitch),
        distance_m=float(distance_m),
        height_m=float(height_m),
        roll_deg=float(roll_deg),
        name=name,
    )


def random_camera(
    rng: np.random.Generator,
    target: np.ndarray,
    azimuth_deg: tuple[float, float] = AZIMUTH_DEG,
    elevation_deg: tuple[float, float] = ELEVATION_DEG,
    distance_m: tuple[float, float] = DISTANCE_M,
    height_m: tuple[float, float] = HEIGHT_M,
    cameras: tuple[tuple[str, int, int, float], ...] = REAL_CAMERAS,
) -> Camera:
    """A camera of a random real model placed around ``target`` (the person's mid-hip, world),
    within the ranges; the aim point wanders off the person by up to AIM_SLACK of the view."""
    for _ in range(1000):
        name, w, h, hfov = cameras[int(rng.integers(len(cameras)))]
        az = float(rng.uniform(*azimuth_deg))
        dist = float(math.exp(rng.uniform(math.log(distance_m[0]), math.log(distance_m[1]))))
        cam_h = float(rng.uniform(*height_m))
        vfov = 2 * math.atan(math.tan(math.radians(hfov) / 2) * h / w)
        slack = (
            AIM_SLACK
            * dist
            * np.array(
                [math.tan(math.radians(hfov) / 2), math.tan(math.radians(hfov) / 2), math.tan(vfov / 2)]
            )
        )
        aim = np.asarray(target, dtype=np.float64) + rng.uniform(-1, 1, 3) * slack
        cam = camera_at(
            target, az, dist, cam_h, w, h, hfov, aim=aim, roll_deg=float(rng.normal(0.0, ROLL_DEG)), name=name
        )
        if elevation_deg[0] <= cam.elevation_deg <= elevation_deg[1]:
            return cam
    raise ValueError(
        f"no camera satisfies elevation {elevation_deg} with heights {height_m} and distances {distance_m}"
    )
