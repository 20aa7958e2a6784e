// Store: what each camera is doing, today's hours, and the manager's override (open now until…, close now until…,
// resume the schedule), each behind a confirmation. Every role sees it; only a manager's role shows the buttons.
// The store-hours state machine does the work: the screen shows the request, then follows it until it is done.
import { call } from "../api.js";
import { alertBox, field, h, notice, show } from "../dom.js";
import { date, time } from "../format.js";
import { sentence } from "../messages.js";

const RUNS = { RUNNING: "in progress", SUCCEEDED: "done", FAILED: "failed — tell your manager", TIMED_OUT: "failed — tell your manager", ABORTED: "stopped" };
const ACTIONS = { open: "Open now", close: "Close now", resume: "Resume the schedule" };

function cameraState(camera, store) {
  const closedByManager = store.override && store.override.action === "close";
  switch (camera.detection) {
    case "RUNNING":
      return ["on", "Watching for customers"];
    case "STOPPED":
      return ["off", closedByManager ? "Off — closed by a manager" : "Off — store closed"];
    case "STARTING":
      return ["off", "Starting…"];
    case "STOPPING":
      return ["off", "Stopping…"];
    case "FAILED":
      return ["trouble", "Not working — tell your manager"];
    default:
      return ["trouble", "State unknown"];
  }
}

function hoursText(today) {
  return today.hours === "closed" ? "Closed today" : `Open ${today.hours.replaceAll("-", "–").replaceAll(",", ", ")}`;
}

export async function storeView(main) {
  const result = h("div", { "aria-live": "polite" });
  let store = null;
  let timer = null;
  let left = false;

  async function load() {
    try {
      store = await call("GET", "/store");
      render();
      // Follow a manager's request until the state machine has finished it and the cameras show it.
      clearTimeout(timer);
      const settling = store.last_request && store.last_request.status === "RUNNING";
      const changing = store.cameras.some((c) => c.detection !== store.wanted);
      if (!left && (settling || changing)) timer = setTimeout(load, 3000);
    } catch (error) {
      show(main, h("h1", {}, "Store"), alertBox(sentence(error)));
    }
  }

  function render() {
    const { today } = store;
    show(
      main,
      h("h1", {}, store.store_name ? `Store — ${store.store_name}` : "Store"),
      h("section", { "aria-labelledby": "cameras-title" },
        h("h2", { id: "cameras-title" }, "Cameras"),
        h("ul", { class: "cameras" }, store.cameras.map((camera) => {
          const [kind, words] = cameraState(camera, store);
          const pending = camera.detection !== store.wanted && !["STARTING", "STOPPING"].includes(camera.detection);
          return h("li", { class: kind, "aria-label": `Camera ${camera.camera}: ${words}` },
            h("strong", {}, camera.camera),
            h("span", { class: "state" }, words),
            camera.changed_at && h("span", { class: "meta" }, `Since ${time(camera.changed_at)}`),
            pending && h("span", { class: "hint" }, store.wanted === "RUNNING" ? " Turning on…" : " Turning off…"));
        })),
      ),
      h("section", { "aria-labelledby": "hours-title" },
        h("h2", { id: "hours-title" }, `Today, ${date(`${today.date}T12:00:00Z`)}`),
        h("p", { class: "state" }, hoursText(today)),
        h("p", { class: "meta" }, today.open_by_hours
          ? `Open now by the hours${today.next_closing ? `; closes at ${time(today.next_closing)}` : ""}.`
          : `Closed now by the hours${today.next_opening ? `; opens ${date(today.next_opening)} at ${time(today.next_opening)}` : ""}.`),
        store.calendar_problems.length > 0 && alertBox("Some store hours cannot be read and are ignored:", h("ul", {}, store.calendar_problems.map((p) => h("li", {}, p)))),
      ),
      h("section", { "aria-labelledby": "override-title" },
        h("h2", { id: "override-title" }, "Override"),
        h("p", { role: "status" }, store.override
          ? `A manager ${store.override.action === "open" ? "opened" : "closed"} the store until ${time(store.override.until)}${store.override.reason ? ` (${store.override.reason})` : ""}.`
          : "None: the cameras follow the store hours."),
        store.last_request && h("p", { class: "meta" },
          `Last request: ${ACTIONS[store.last_request.action] || store.last_request.action} at ${time(store.last_request.started_at)} — ${RUNS[store.last_request.status] || store.last_request.status}.`),
        result,
        store.may_override ? buttons() : h("p", { class: "hint" }, "Only a manager can open or close the store outside its hours."),
      ),
    );
  }

  function buttons() {
    return h("div", { class: "row" },
      button("open", "Open now…"),
      button("close", "Close now…"),
      button("resume", "Resume the schedule…", !store.override),
    );
  }

  function button(action, label, disabled = false) {
    const open = h("button", { type: "button", class: action === "close" ? "danger" : "", disabled }, label);
    open.addEventListener("click", () => confirmDialog(action));
    return open;
  }

  function confirmDialog(action) {
    const key = crypto.randomUUID(); // one press, however often the request is retried
    const until = h("input", { type: "time", id: `until-${action}` });
    const reason = h("input", { maxlength: "200", id: `reason-${action}` });
    const error = h("div");
    const go = h("button", { type: "submit", class: action === "close" ? "danger" : "" }, ACTIONS[action]);
    const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
    const question = {
      open: "Turn every camera on now, outside the store hours?",
      close: "Turn every camera off now? Customers will not be recognised until it ends.",
      resume: "End the override? The cameras follow the store hours again.",
    }[action];
    const form = h("form", { method: "dialog" },
      h("h2", { id: `confirm-${action}` }, `${ACTIONS[action]}?`),
      h("p", {}, question),
      action !== "resume" && field("Until (optional)", until, "Leave empty to last until the store next opens or closes by its hours."),
      // The reason travels in the run's input: the state machine's history and the store-hours logs keep it.
      action !== "resume" && field("Reason (optional)", reason, "Shown on the Store screen and kept in the store-hours records and logs: never type a customer's name here."),
      error,
      h("div", { class: "row" }, go, cancel),
    );
    const dialog = h("dialog", { "aria-labelledby": `confirm-${action}` }, form);
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      go.disabled = true;
      const body = { action };
      if (action !== "resume" && until.value) body.until = until.value;
      if (action !== "resume" && reason.value.trim()) body.reason = reason.value.trim();
      try {
        const started = await call("POST", "/store/override", body, { "Idempotency-Key": key });
        dialog.close();
        const words = action === "resume"
          ? "Back to the store hours."
          : `${action === "open" ? "Opening" : "Closing"} now until ${time(started.until)}.`;
        show(result, notice(`${words} The cameras follow within a minute.`));
        load();
      } catch (failure) {
        go.disabled = false;
        show(error, alertBox(sentence(failure)));
      }
    });
    // On the page body: the screen redraws itself while it follows a request, and must not take the dialog along.
    document.body.append(dialog);
    dialog.showModal();
  }

  await load();
  return () => {
    left = true;
    clearTimeout(timer);
  };
}
