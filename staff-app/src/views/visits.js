// Visits: who is in the store now, a day's visits (a day picker; more pages on request), and a CSV of a date
// range for a spreadsheet. Days are the store's days, in its time zone.
import { call, download } from "../api.js";
import { alertBox, field, h, notice, show } from "../dom.js";
import { date, storeDay } from "../format.js";
import { sentence } from "../messages.js";
import { visitTable } from "./visit-list.js";

const PAGE = 20;

export async function visitsView(main, config, day) {
  const can = (permission) => (config.permissions || []).includes(permission);
  const today = storeDay();
  day = day || today;
  const now = h("section", { "aria-labelledby": "now-title" }, h("h2", { id: "now-title" }, "In the store now"), h("p", {}, "Loading…"));
  const sections = [h("h1", {}, "Visits"), now];
  if (can("export_visits")) {
    sections.push(daySection(day, today), exportSection(day));
  } else {
    sections.push(h("p", { class: "hint" }, "A manager can see past days' visits and export them."));
  }
  show(main, sections);
  try {
    const { visits } = await call("GET", "/visits/now");
    show(now, h("h2", { id: "now-title" }, "In the store now"),
      visits.length ? visitTable(visits, { label: "In the store now" }) : h("p", {}, "No registered customer is in the store now."));
  } catch (error) {
    show(now, h("h2", { id: "now-title" }, "In the store now"), alertBox(sentence(error)));
  }
}

function daySection(day, today) {
  const picker = h("input", { type: "date", value: day, max: today, id: "visits-day" });
  picker.addEventListener("change", () => {
    if (/^\d{4}-\d\d-\d\d$/.test(picker.value)) location.hash = `#/visits/${picker.value}`;
  });
  const list = h("div", {}, h("p", {}, "Loading…"));
  const count = h("p", { class: "meta", role: "status" });
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Show more");
  const heading = day === today ? "Today" : date(`${day}T12:00:00Z`);
  const section = h("section", { "aria-labelledby": "day-title" },
    h("h2", { id: "day-title" }, `${heading}'s visits`),
    h("div", { class: "row" }, field("Pick a day", picker)),
    count, list, more);
  const shown = [];
  let token = null;
  async function load() {
    more.disabled = true;
    try {
      const query = new URLSearchParams({ from: day, to: day, limit: String(PAGE), ...(token ? { next_token: token } : {}) });
      const page = await call("GET", `/visits?${query}`);
      shown.push(...page.visits);
      token = page.next_token;
      show(list, shown.length ? visitTable(shown, { label: `Visits on ${day}` }) : h("p", {}, "No registered customer came that day."));
      show(count, shown.length ? `${shown.length} visit${shown.length === 1 ? "" : "s"}${token ? " so far" : ""}.` : "");
      more.hidden = !token;
    } catch (error) {
      show(list, alertBox(sentence(error)));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);
  load();
  return section;
}

function exportSection(day) {
  const from = h("input", { type: "date", value: day, id: "export-from", required: true });
  const to = h("input", { type: "date", value: day, id: "export-to", required: true });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export for a spreadsheet"),
    h("div", { class: "row" }, field("From", from), field("To", to)),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Download CSV")),
    h("p", { class: "hint" }, "One row per visit, with a header row; up to a year at a time."),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const query = new URLSearchParams({ from: from.value, to: to.value });
      const name = await download(`/visits/export?${query}`, `greeter-visits-${from.value}-to-${to.value}.csv`);
      show(result, notice(`Downloaded ${name}.`));
    } catch (error) {
      show(result, alertBox(sentence(error)));
    }
  });
  return form;
}
