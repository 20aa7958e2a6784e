"""Registering a customer from the webcam, through the real registration function."""

from playwright.sync_api import expect
from staff_app_kit import group_photo, sign_in


def _fill_profile(page, name: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Notes for staff (optional)").fill("Likes green tea")
    page.get_by_label("The customer read this and agreed").check()


def test_register_from_the_webcam_then_the_customer_is_in_people(page, backend, screens):
    backend.staff("assistant@example.com")
    sign_in(page, backend, "assistant@example.com")
    page.get_by_role("link", name="Register").click()
    expect(page.get_by_role("status").filter(has_text="Camera ready.")).to_be_visible()
    page.screenshot(path=screens / "register.png")
    page.get_by_role("button", name="Take photo").click()
    _fill_profile(page, "Maria Silva")
    expect(page.get_by_label("Consent given by")).to_have_value("Maria Silva")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Maria Silva is registered.")).to_be_visible()

    page.get_by_role("link", name="People").click()
    page.get_by_label("Search by name").fill("maria")
    page.get_by_role("link", name="Maria Silva").click()
    expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()
    expect(page.get_by_text("assistant@example.com")).to_be_visible()  # recorded by
    expect(page.get_by_text("2026-01", exact=True)).to_be_visible()  # wording version
    assert backend.stored()["people"] == ["Maria Silva"]


def test_a_group_photo_is_refused_with_a_plain_sentence_and_nothing_is_written(page, backend, screens):
    backend.staff("assistant@example.com")
    sign_in(page, backend, "assistant@example.com")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Choose a file").set_input_files(
        files=[{"name": "group.jpg", "mimeType": "image/jpeg", "buffer": group_photo()}]
    )
    _fill_profile(page, "Maria Silva")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Two or more faces are in the photo — only the customer should be in the picture."
    )
    page.screenshot(path=screens / "register-refused.png")
    assert backend.stored() == {"people": [], "faces": 0, "photos": 0}


def test_a_duplicate_offers_to_open_the_registered_person(page, backend):
    backend.staff("assistant@example.com")
    sign_in(page, backend, "assistant@example.com")
    for name in ("Maria Silva", "Maria S."):
        page.get_by_role("link", name="Register").click()
        expect(page.get_by_role("status").filter(has_text="Camera ready.")).to_be_visible()
        page.get_by_role("button", name="Take photo").click()
        _fill_profile(page, name)
        page.get_by_role("button", name="Register").click()
        if name == "Maria Silva":
            expect(page.get_by_text("Maria Silva is registered.")).to_be_visible()
            page.get_by_role("link", name="People").click()
    expect(page.get_by_role("alert")).to_contain_text("This customer is already registered.")
    page.get_by_role("link", name="Open the registered person").click()
    expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()
    assert backend.stored()["people"] == ["Maria Silva"]
