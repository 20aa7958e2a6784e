// One person: photos, notes, consent; edit the profile, add a photo, erase (with a confirmation naming them and
// the erasure receipt shown afterwards).
import { call, fileToBase64 } from "../api.js";
import { alertBox, field, h, notice, show } from "../dom.js";
import { dateTime } from "../format.js";
import { sentence } from "../messages.js";
import { visitTable } from "./visit-list.js";

export async function personView(main, config, personId) {
  show(main, h("p", {}, "Loading…"));
  let person;
  try {
    person = await call("GET", `/people/${personId}`);
  } catch (error) {
    show(main, h("h1", {}, "Person"), alertBox(sentence(error)), h("a", { href: "#/people" }, "Back to People"));
    return;
  }
  const result = h("div", { "aria-live": "polite" });
  const can = (permission) => (config.permissions || []).includes(permission);
  render();

  function render() {
    const photos = h("div", { class: "row" }, person.photo_links.map((link, i) => h("img", { class: "thumb", src: link.url, alt: `Photo ${i + 1} of ${person.name}` })));
    const consent = person.consent;
    show(
      main,
      h("p", {}, h("a", { href: "#/people" }, "← People")),
      h("h1", {}, person.name),
      photos,
      result,
      h("dl", { class: "facts" },
        h("dt", {}, "Notes"), h("dd", {}, person.notes || "—"),
        h("dt", {}, "Contact"), h("dd", {}, person.contact_email || "—"),
        h("dt", {}, "Consent given by"), h("dd", {}, consent.given_by),
        h("dt", {}, "Consent given"), h("dd", {}, dateTime(consent.given_at)),
        h("dt", {}, "Wording version"), h("dd", {}, consent.wording_version),
        h("dt", {}, "Recorded by"), h("dd", {}, consent.recorded_by || "—"),
        h("dt", {}, "Registered"), h("dd", {}, dateTime(person.created_at)),
        h("dt", {}, "Photos"), h("dd", {}, String(person.photo_count)),
      ),
      can("see_visit_history") && visitsSection(),
      can("edit_people") && editForm(),
      can("edit_people") && addPhotoForm(),
      can("erase_people") && eraseSection(),
    );
  }

  function visitsSection() {
    const list = h("div", {}, h("p", {}, "Loading…"));
    const more = h("button", { type: "button", class: "quiet", hidden: true }, "Show more visits");
    const shown = [];
    let token = null;
    async function load() {
      try {
        const query = new URLSearchParams({ limit: "10", ...(token ? { next_token: token } : {}) });
        const page = await call("GET", `/people/${personId}/visits?${query}`);
        shown.push(...page.visits);
        token = page.next_token;
        show(list, shown.length ? visitTable(shown, { label: `Visits of ${person.name}`, showName: false, withDate: true }) : h("p", {}, "No visits yet."));
        more.hidden = !token;
      } catch (error) {
        show(list, alertBox(sentence(error)));
      }
    }
    more.addEventListener("click", load);
    load();
    return h("section", { "aria-labelledby": "visits-title" }, h("h2", { id: "visits-title" }, "Visits"), list, more);
  }

  function editForm() {
    const name = h("input", { value: person.name, required: true, maxlength: "100" });
    const notes = h("textarea", { rows: "3", maxlength: "2000" }, person.notes);
    const contact = h("input", { type: "email", value: person.contact_email || "", maxlength: "254" });
    const form = h("form", { class: "panel", "aria-labelledby": "edit-title" },
      h("h2", { id: "edit-title" }, "Edit"),
      field("Name", name), field("Notes for staff", notes), field("Contact email", contact),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Save changes")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const updated = await call("PATCH", `/people/${personId}`, { name: name.value, notes: notes.value, contact_email: contact.value.trim() || null });
        person = { ...person, ...updated, photo_links: person.photo_links };
        render();
        show(result, notice("Saved."));
      } catch (error) {
        show(result, alertBox(sentence(error)));
      }
    });
    return form;
  }

  function addPhotoForm() {
    const input = h("input", { type: "file", accept: "image/jpeg,image/png", id: "add-photo", class: "visually-hidden" });
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (!file) return;
      try {
        await call("POST", `/people/${personId}/photos`, { photo: await fileToBase64(file) }, { "Idempotency-Key": crypto.randomUUID() });
        person = await call("GET", `/people/${personId}`);
        render();
        show(result, notice("Photo added."));
      } catch (error) {
        show(result, alertBox(sentence(error)));
      }
    });
    return h("section", { class: "row" }, h("label", { for: input.id, class: "button quiet" }, "Add a photo"), input,
      h("span", { class: "hint" }, "Another photo (other light, glasses) helps the camera recognise them."));
  }

  function eraseSection() {
    const dialog = h("dialog", { "aria-labelledby": "erase-title" });
    const confirm = h("button", { type: "button", class: "danger" }, `Erase ${person.name}`);
    const cancel = h("button", { type: "button", class: "quiet" }, "Keep");
    const dialogError = h("div");
    show(dialog,
      h("h2", { id: "erase-title" }, `Erase ${person.name}?`),
      h("p", {}, `This deletes ${person.name}'s photos, face data, notes and consent record for good. The camera will no longer recognise them. This cannot be undone.`),
      dialogError,
      h("div", { class: "row" }, confirm, cancel),
    );
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        const receipt = await call("DELETE", `/people/${personId}`);
        dialog.close();
        show(main,
          h("h1", {}, `${person.name} was erased`),
          h("section", { class: "panel", "aria-labelledby": "receipt-title" },
            h("h2", { id: "receipt-title" }, "Erasure receipt"),
            h("dl", { class: "facts" },
              h("dt", {}, "Person id"), h("dd", {}, receipt.person_id),
              h("dt", {}, "Erased"), h("dd", {}, dateTime(receipt.erased_at)),
              h("dt", {}, "Erased by"), h("dd", {}, receipt.erased_by),
              h("dt", {}, "Face records deleted"), h("dd", {}, String(receipt.faces_deleted)),
              h("dt", {}, "Photo files deleted"), h("dd", {}, String(receipt.photo_versions_deleted)),
            ),
            h("p", { class: "hint" }, "Keep the person id if the customer asks for proof; the audit log has the same entry."),
          ),
          h("p", {}, h("a", { href: "#/people" }, "Back to People")),
        );
      } catch (error) {
        confirm.disabled = false;
        show(dialogError, alertBox(sentence(error)));
      }
    });
    const open = h("button", { type: "button", class: "danger" }, "Erase…");
    open.addEventListener("click", () => dialog.showModal());
    return h("section", { class: "row" }, open, dialog);
  }
}
