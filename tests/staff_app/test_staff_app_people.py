"""People: search by name and by photo, open, edit, add a photo, erase (the confirmation names the person, the
receipt is shown, and the person is gone from every list)."""

import re

from playwright.sync_api import expect
from staff_app_kit import astronaut_photo, flipped_astronaut_photo, photo_file, sign_in


def _register_by_file(page, name: str, photo: bytes) -> None:
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Choose a file").set_input_files(files=[photo_file(photo)])
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("The customer read this and agreed").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(f"{name} is registered.")).to_be_visible()


def test_find_by_photo_edit_add_a_photo_and_erase(page, backend, screens):
    backend.staff("manager@example.com")
    sign_in(page, backend, "manager@example.com")
    _register_by_file(page, "João Costa", astronaut_photo())

    page.get_by_role("link", name="People").click()
    page.get_by_label("Search by name").fill("joao")  # accents do not matter
    expect(page.get_by_role("link", name=re.compile("João Costa"))).to_be_visible()
    page.get_by_label("Search by photo").set_input_files(files=[photo_file(flipped_astronaut_photo())])
    expect(page.get_by_role("heading", name="Who is in the photo")).to_be_visible()
    page.screenshot(path=screens / "people.png")
    page.get_by_role("link", name=re.compile("João Costa.*alike")).click()

    expect(page.get_by_role("heading", name="João Costa", exact=True)).to_be_visible()
    page.get_by_label("Notes for staff").fill("Prefers the window table")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.get_by_label("Add a photo").set_input_files(files=[photo_file(flipped_astronaut_photo())])
    expect(page.get_by_role("status").filter(has_text="Photo added.")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Photo 2 of João Costa"))).to_have_count(1)
    page.screenshot(path=screens / "person.png")

    page.get_by_role("button", name="Erase…").click()
    dialog = page.get_by_role("dialog", name="Erase João Costa?")
    expect(dialog).to_contain_text("cannot be undone")
    page.screenshot(path=screens / "erase-confirmation.png")
    dialog.get_by_role("button", name="Erase João Costa").click()
    receipt = page.get_by_role("region", name="Erasure receipt")
    expect(receipt).to_contain_text("manager@example.com")
    expect(receipt).to_contain_text("Face records deleted2")
    page.screenshot(path=screens / "erasure-receipt.png")

    page.get_by_role("link", name="Back to People").click()
    expect(page.get_by_text("0 people registered.")).to_be_visible()
    page.get_by_label("Search by photo").set_input_files(files=[photo_file(astronaut_photo())])
    expect(page.get_by_text("Nobody registered looks like the person in this photo.")).to_be_visible()
    assert backend.stored() == {"people": [], "faces": 0, "photos": 0}
