// Arrivals, the counter tablet's home screen: a card per recognised customer (newest first) within a moment of
// the camera seeing them, a gentle chime that can be turned off, "In the store now", and "I'm on it" so two
// assistants never approach the same person.
import { call } from "../api.js";
import { staffEmail } from "../auth.js";
import { alertBox, h, show } from "../dom.js";
import { percent, time } from "../format.js";
import { sentence } from "../messages.js";
import { EventChannel } from "../events.js";

const state = { visits: new Map(), channel: null, status: "connecting", me: null, view: null };
const SOUND_KEY = "greeter.sound";

function soundOn() {
  return localStorage.getItem(SOUND_KEY) !== "off";
}

let audio;
function chime() {
  if (!soundOn()) return;
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, frequency] of [660, 880].entries()) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.18 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.6);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + i * 0.18);
      tone.stop(now + i * 0.18 + 0.65);
    }
  } catch {
    // no audio on this device: the card is enough
  }
}

function setStatus(status) {
  state.status = status;
  const node = document.getElementById("connection");
  if (!node) return;
  node.className = `connection ${status}`;
  node.textContent = status === "online" ? "Live" : status === "offline" ? "Offline — reconnecting…" : "Connecting…";
  if (state.view) state.view();
}

async function catchUp() {
  // What happened while the socket was down (or before this tablet started): who is in the store now.
  try {
    const { visits } = await call("GET", "/visits/now");
    const open = new Set();
    for (const visit of visits) {
      open.add(visit.visit_id);
      const known = state.visits.get(visit.visit_id) || {};
      state.visits.set(visit.visit_id, {
        ...known,
        visit_id: visit.visit_id,
        person_id: visit.person_id,
        name: visit.name,
        camera: known.camera || visit.cameras[0],
        first_seen: known.first_seen || visit.arrived,
        acknowledged_by: visit.acknowledged_by,
        acknowledged_at: visit.acknowledged_at,
        // The card's notes and photo come with the open visits, for every role that sees arrivals.
        notes: visit.notes || known.notes,
        photo_url: visit.photo_url || known.photo_url,
      });
    }
    for (const id of state.visits.keys()) if (!open.has(id)) state.visits.delete(id);
    if (state.view) state.view();
  } catch {
    // offline or signed out: the next connection tries again
  }
}

function onEvent(event) {
  if (event.type === "arrival") {
    const fresh = !state.visits.has(event.visit_id);
    state.visits.set(event.visit_id, { ...state.visits.get(event.visit_id), ...event, first_seen: event.seen_at, receivedAt: performance.now() });
    if (fresh) chime();
    if (state.view) state.view();
    // The card is up; the registered photo's link comes with the open visits.
    if (fresh) catchUp();
  } else if (event.type === "ack") {
    const visit = state.visits.get(event.visit_id);
    if (visit) {
      visit.acknowledged_by = event.by;
      visit.acknowledged_at = event.at;
      if (state.view) state.view();
    }
  }
}

export function startArrivals(config) {
  if (state.channel || !config.eventsRealtimeEndpoint) return;
  staffEmail().then((me) => (state.me = me));
  state.channel = new EventChannel({
    realtimeEndpoint: config.eventsRealtimeEndpoint,
    httpHost: config.eventsHttpHost,
    channel: "/arrivals/*",
    onEvent,
    onStatus: setStatus,
    onConnected: catchUp,
  });
  setStatus("connecting");
  state.channel.start();
}

export function stopArrivals() {
  if (state.channel) state.channel.stop();
  state.channel = null;
  state.visits.clear();
  const node = document.getElementById("connection");
  if (node) node.textContent = "";
}

function card(visit) {
  const mine = visit.acknowledged_by && visit.acknowledged_by === state.me;
  const error = h("div");
  const button = h("button", { type: "button" }, "I'm on it");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const ack = await call("POST", "/visits/acknowledge", { person_id: visit.person_id, visit_id: visit.visit_id });
      // The first to say so stands: this may name another assistant who was quicker.
      visit.acknowledged_by = ack.acknowledged_by;
      visit.acknowledged_at = ack.acknowledged_at;
      state.view && state.view();
    } catch (failure) {
      button.disabled = false;
      show(error, alertBox(sentence(failure)));
    }
  });
  return h(
    "li",
    { class: `card${visit.acknowledged_by ? " taken" : ""}`, "aria-label": `${visit.name} arrived`, dataset: { visit: visit.visit_id } },
    visit.photo_url ? h("img", { src: visit.photo_url, alt: `Registered photo of ${visit.name}` }) : h("div", { class: "thumb", "aria-hidden": "true" }),
    h("div", {},
      h("h3", {}, visit.name),
      visit.notes && h("p", {}, visit.notes),
      h("p", { class: "meta" },
        `At the ${visit.camera} · ${time(visit.first_seen)}`,
        visit.similarity ? ` · ${percent(visit.similarity)} match` : ""),
      visit.acknowledged_by
        ? h("p", { class: "status-taken" }, mine ? "You are looking after them." : `${visit.acknowledged_by} is on it.`)
        : h("div", { class: "row" }, button),
      error,
    ),
  );
}

export function arrivalsView(main, config) {
  const soundToggle = h("input", { type: "checkbox", id: "sound-toggle", checked: soundOn() });
  soundToggle.addEventListener("change", () => localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off"));
  const list = h("ul", { class: "cards", "aria-label": "Arrivals, newest first", "aria-live": "polite" });
  const banner = h("div");
  const render = () => {
    const visits = [...state.visits.values()].sort((a, b) => String(b.first_seen).localeCompare(String(a.first_seen)));
    show(list, visits.map(card));
    show(banner, state.status === "offline" ? alertBox("This tablet is offline: new arrivals will show when it reconnects.") : null);
    if (!visits.length) show(list, h("li", { class: "meta" }, "Nobody recognised in the store right now."));
  };
  state.view = render;
  show(main,
    h("div", { class: "row" }, h("h1", {}, "Arrivals"),
      h("label", { class: "check", for: soundToggle.id, style: null }, soundToggle, "Sound")),
    banner,
    h("h2", {}, "In the store now"),
    list,
  );
  if (!config.eventsRealtimeEndpoint) show(banner, alertBox("Arrivals are not set up for this store."));
  render();
  catchUp();
  return () => (state.view = null);
}
