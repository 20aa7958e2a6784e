// People: everyone registered, searched by name as you type, or by photo (who is this?).
import { allPeople, call, fileToBase64 } from "../api.js";
import { alertBox, h, show } from "../dom.js";
import { percent } from "../format.js";
import { sentence } from "../messages.js";

const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

function personLink(person, extra) {
  return h("li", {}, h("a", { href: `#/people/${person.person_id}` }, h("strong", {}, person.name), extra && h("span", { class: "meta" }, extra)));
}

export async function peopleView(main) {
  const search = h("input", { type: "search", id: "people-search", autocomplete: "off" });
  const list = h("ul", { class: "people", "aria-label": "Registered people" });
  const count = h("p", { class: "meta", role: "status" });
  const photoResult = h("div", { "aria-live": "polite" });
  const photoInput = h("input", { type: "file", accept: "image/jpeg,image/png", id: "search-photo", class: "visually-hidden" });
  let people = [];

  function render() {
    const query = fold(search.value.trim());
    const shown = people.filter((person) => fold(person.name).includes(query));
    show(list, shown.map((person) => personLink(person, person.notes)));
    show(count, query ? `${shown.length} of ${people.length} people match "${search.value.trim()}".` : `${people.length} people registered.`);
  }
  search.addEventListener("input", render);

  photoInput.addEventListener("change", async () => {
    const file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (!file) return;
    show(photoResult, h("p", {}, "Searching…"));
    try {
      const { matches } = await call("POST", "/search", { photo: await fileToBase64(file) });
      if (!matches.length) return show(photoResult, h("p", { role: "status" }, "Nobody registered looks like the person in this photo."));
      show(photoResult, h("h2", {}, "Who is in the photo"), h("ul", { class: "people" }, matches.map((m) => personLink(m, `${percent(m.similarity)} alike`))));
    } catch (error) {
      show(photoResult, alertBox(sentence(error)));
    }
  });

  show(
    main,
    h("h1", {}, "People"),
    h("div", { class: "row" },
      h("div", { style: null }, h("label", { for: search.id }, "Search by name"), search),
      h("label", { for: photoInput.id, class: "button quiet" }, "Search by photo"),
      photoInput,
    ),
    photoResult,
    count,
    list,
  );
  try {
    people = await allPeople();
    people.sort((a, b) => a.name.localeCompare(b.name));
    render();
  } catch (error) {
    show(count, alertBox(sentence(error)));
  }
}
