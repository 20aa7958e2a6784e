"""Is the one face in this photo good enough to recognise later? Bounds on DetectFaces' FaceDetail.

Where the bounds come from:
- Face size: "Recommendations for camera setup (image and video)"
  (https://docs.aws.amazon.com/rekognition/latest/dg/recommendations-camera-image-video.html) asks for a
  face of at least 50x50 pixels in images up to 1920x1080, and proportionally more in larger images.
  ("Guidelines and quotas" gives 40x40 as the detection floor; a reference photo should do better.)
- Pose: "Recommendations for facial comparison input images"
  (https://docs.aws.amazon.com/rekognition/latest/dg/recommendations-facial-input-images.html): yaw under
  45 degrees either way; pitch under 30 degrees face down and under 45 face up; no limit on roll. The API
  reference does not say which sign of Pitch is "down", so Greeter applies the stricter 30 both ways.
- Roll: Greeter's own bound (45 degrees). A face rolled further is a photo taken or saved sideways or upside
  down; the door camera sees people upright, and a sideways reference photo can fail to match the same person
  registered upright, so it would register them twice. Refused with its own code so the app can say "turn the
  photo upright".
- Brightness and sharpness: the same page says "use images that are bright and sharp" and to check them
  with DetectFaces, but AWS publishes no numbers (Quality.Brightness/Sharpness are 0-100, higher is
  brighter/sharper). Greeter's floors (25) and ceiling (95) are its own choice: they refuse clearly dark,
  burnt-out or blurred faces and pass ordinary phone photos. IndexFaces' QualityFilter=AUTO stays on as
  Rekognition's own second opinion.
"""

import math

from errors import FaceRotated, LowQuality, NoFace, SeveralFaces

MIN_FACE_PIXELS = 50
REFERENCE_IMAGE = (1920, 1080)
MAX_YAW = 45.0
MAX_PITCH = 30.0
MAX_ROLL = 45.0
MIN_BRIGHTNESS = 25.0
MAX_BRIGHTNESS = 95.0
MIN_SHARPNESS = 25.0


def min_face_pixels(width: int, height: int) -> float:
    """50 px up to 1920x1080; proportionally more for larger images (either orientation)."""
    long_side, short_side = max(width, height), min(width, height)
    scale = max(1.0, long_side / REFERENCE_IMAGE[0], short_side / REFERENCE_IMAGE[1])
    return MIN_FACE_PIXELS * scale


def quality_problems(face: dict, width: int, height: int) -> list[str]:
    """The bounds a Rekognition FaceDetail misses (empty when the face is good enough)."""
    problems = []
    box = face["BoundingBox"]
    face_pixels = min(box["Width"] * width, box["Height"] * height)
    if face_pixels < min_face_pixels(width, height):
        problems.append(f"face_too_small: {face_pixels:.0f} px, needs {math.ceil(min_face_pixels(width, height))}")
    pose = face.get("Pose", {})
    if abs(pose.get("Yaw", 0.0)) > MAX_YAW:
        problems.append(f"head_turned: yaw {pose['Yaw']:.0f} degrees, at most {MAX_YAW:.0f}")
    if abs(pose.get("Pitch", 0.0)) > MAX_PITCH:
        problems.append(f"head_tilted: pitch {pose['Pitch']:.0f} degrees, at most {MAX_PITCH:.0f}")
    quality = face.get("Quality", {})
    brightness = quality.get("Brightness", MIN_BRIGHTNESS)
    if brightness < MIN_BRIGHTNESS:
        problems.append(f"too_dark: brightness {brightness:.0f}, needs {MIN_BRIGHTNESS:.0f}")
    elif brightness > MAX_BRIGHTNESS:
        problems.append(f"too_bright: brightness {brightness:.0f}, at most {MAX_BRIGHTNESS:.0f}")
    sharpness = quality.get("Sharpness", MIN_SHARPNESS)
    if sharpness < MIN_SHARPNESS:
        problems.append(f"blurred: sharpness {sharpness:.0f}, needs {MIN_SHARPNESS:.0f}")
    return problems


def the_one_good_face(faces: list[dict], width: int, height: int) -> dict:
    """The photo's only face, if good enough. Several faces are refused: a bystander never consented."""
    if not faces:
        raise NoFace("no face was found in the photo")
    if len(faces) > 1:
        raise SeveralFaces(f"{len(faces)} faces were found; the photo must show only the person being registered")
    roll = faces[0].get("Pose", {}).get("Roll", 0.0)
    if abs(roll) > MAX_ROLL:
        raise FaceRotated(
            f"the face is turned {roll:.0f} degrees in the picture (at most {MAX_ROLL:.0f}): the photo is sideways "
            "or upside down; turn it upright and send it again"
        )
    problems = quality_problems(faces[0], width, height)
    if problems:
        raise LowQuality("the face is not clear enough to recognise later: " + "; ".join(problems), reasons=problems)
    return faces[0]
