"""No personal data in any log line or trace of the registration API: a person with a distinctive name, notes
and email is registered, found, corrected, searched for, registered again by mistake, sent with bad fields and
erased; every log line and everything X-Ray would keep is searched for their data and face ids."""

from api_requests import person_body
from helpers import PERSONAL_DATA, personal_data_in


def test_registering_finding_and_erasing_a_person_leaves_no_personal_data(
    api, photos, rekognition, monkeypatch, capsys, observed
):
    observed.watch(api.module, monkeypatch)
    consent = {"given_by": PERSONAL_DATA["name"], "given_at": "2026-01-15T10:30:00+00:00", "wording_version": "v1"}
    fields = {**PERSONAL_DATA, "consent": consent}

    registered = api.register(photos.astronaut, **fields)
    assert registered.status == 201, registered.body
    person_id = registered.body["person_id"]
    face_ids = [face.face_id for face in rekognition.faces_of(api.stack.ref("FaceCollection"), person_id)]
    assert api.call("get-person", person_id=person_id).body["name"] == PERSONAL_DATA["name"]
    assert api.call("list-people").status == 200
    changed = api.call("update-person", person_id=person_id, body={"notes": PERSONAL_DATA["notes"] + ", again"})
    assert changed.status == 200
    assert api.call("search", body={"photo": person_body(photos.astronaut_flipped)["photo"]}).status == 200
    assert api.register(photos.astronaut, **fields).code == "duplicate_person"
    bad = api.register(photos.astronaut, **{**fields, "contact_email": PERSONAL_DATA["name"]})
    assert bad.status == 422
    assert api.call("erase-person", person_id=person_id).status == 200

    captured = capsys.readouterr()
    assert face_ids and observed.lines and '"person erased"' in observed.logs
    assert personal_data_in(observed.logs + captured.err, *face_ids) == []
    assert personal_data_in(observed.text(), *face_ids) == []
