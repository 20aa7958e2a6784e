// A list of visits as staff read it: when they came and left, how long, which cameras saw them, whether staff were
// alerted and who looked after them; each visit opens its own page (with its video). Times in the store's zone.
import { h } from "../dom.js";
import { dateTime, minutes, time } from "../format.js";

export function visitHref(visit) {
  return `#/people/${visit.person_id}/visits/${encodeURIComponent(visit.visit_id)}`;
}

function looked(visit) {
  if (visit.acknowledged_by) return `${visit.acknowledged_by} at ${time(visit.acknowledged_at)}`;
  return visit.alerted_at ? "Nobody said “I'm on it”" : "—";
}

/** A table of visits; `showName` adds the person's name (a day's list), `withDate` the date (a person's list). */
export function visitTable(visits, { label, showName = true, withDate = false } = {}) {
  return h("table", { class: "visits", "aria-label": label },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, withDate ? "Arrived" : "Arrived"),
      showName && h("th", { scope: "col" }, "Customer"),
      h("th", { scope: "col" }, "Time in store"),
      h("th", { scope: "col" }, "Cameras"),
      h("th", { scope: "col" }, "Alert"),
      h("th", { scope: "col" }, "Looked after by"),
    )),
    h("tbody", {}, visits.map((visit) => h("tr", {},
      h("td", {}, h("a", { href: visitHref(visit) }, withDate ? dateTime(visit.arrived) : time(visit.arrived))),
      showName && h("td", {}, visit.name || "(erased)"),
      h("td", {}, `${minutes(visit.minutes)}${visit.in_store ? " — in the store now" : ""}`),
      h("td", {}, visit.cameras.join(", ")),
      h("td", {}, visit.alerted_at ? `Sent ${time(visit.alerted_at)}` : "No alert"),
      h("td", {}, looked(visit)),
    ))),
  );
}
