// Register a customer who agreed: photo (webcam or file), name, notes, contact, and the consent record.
import { ApiError, call, fileToBase64 } from "../api.js";
import { staffEmail } from "../auth.js";
import { CONSENT } from "../consent.js";
import { alertBox, field, h, notice, show } from "../dom.js";
import { sentence } from "../messages.js";
import { photoPicker } from "./photo-picker.js";

export async function registerView(main) {
  let photo = null;
  let idempotencyKey = crypto.randomUUID();
  const renew = () => (idempotencyKey = crypto.randomUUID());
  const picker = photoPicker((blob) => {
    photo = blob;
    renew();
  }, { label: "Customer's photo" });

  const name = h("input", { name: "name", required: true, maxlength: "100", autocomplete: "off" });
  const notes = h("textarea", { name: "notes", rows: "3", maxlength: "2000" });
  const contact = h("input", { name: "contact", type: "email", maxlength: "254", autocomplete: "off" });
  const givenBy = h("input", { name: "given_by", required: true, maxlength: "100", autocomplete: "off" });
  const agreed = h("input", { type: "checkbox", id: "consent-agreed", required: true });
  const staff = await staffEmail();
  const result = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Register");

  name.addEventListener("input", () => {
    if (!givenBy.dataset.touched) givenBy.value = name.value;
  });
  givenBy.addEventListener("input", () => (givenBy.dataset.touched = "yes"));

  const form = h(
    "form",
    { novalidate: true },
    h("div", { class: "grid" },
      picker.node,
      h("div", {},
        field("Name", name, "As staff will see it when the customer comes in."),
        field("Notes for staff (optional)", notes, "Preferences, favourite brands… nothing sensitive."),
        field("Contact email (optional)", contact),
        h("fieldset", { class: "panel" },
          h("legend", {}, `Consent (wording version ${CONSENT.version})`),
          h("p", { id: "consent-text" }, CONSENT.text),
          field("Consent given by", givenBy, "The customer's name as they agreed."),
          h("label", { class: "check", for: agreed.id }, agreed, "The customer read this and agreed"),
          h("p", { class: "hint" }, `Recorded by ${staff}.`),
        ),
      ),
    ),
    result,
    h("div", { class: "row" }, submit),
  );
  form.addEventListener("input", renew);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(result);
    if (!photo) return show(result, alertBox("Take a photo of the customer or choose a file first."));
    if (!name.value.trim()) return show(result, alertBox("Type the customer's name."));
    if (!givenBy.value.trim() || !agreed.checked) return show(result, alertBox(sentence({ code: "consent_required" })));
    submit.disabled = true;
    submit.textContent = "Registering…";
    try {
      const person = await call(
        "POST",
        "/people",
        {
          name: name.value,
          notes: notes.value,
          contact_email: contact.value.trim() || null,
          consent: { given_by: givenBy.value, given_at: new Date().toISOString(), wording_version: CONSENT.version },
          photo: await fileToBase64(photo),
        },
        { "Idempotency-Key": idempotencyKey },
      );
      show(result, notice(`${person.name} is registered.`, h("a", { href: `#/people/${person.person_id}` }, `Open ${person.name}`)));
      form.reset();
      givenBy.dataset.touched = "";
      renew();
    } catch (error) {
      const extra = [];
      if (error instanceof ApiError && error.code === "duplicate_person" && error.personId) {
        extra.push(h("a", { class: "button quiet", href: `#/people/${error.personId}` }, "Open the registered person"));
      }
      show(result, alertBox(sentence(error), ...extra));
    } finally {
      submit.disabled = false;
      submit.textContent = "Register";
    }
  });

  show(main, h("h1", {}, "Register a customer"), form);
  return () => picker.stop();
}
