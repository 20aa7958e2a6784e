// The staff app's shell: reads config.json (written by the stack at deploy time), signs in, then routes by hash.
import { call, configureApi } from "./api.js";
import { configureAuth, idToken, signOut } from "./auth.js";
import { h, show } from "./dom.js";
import { configureFormat } from "./format.js";
import { arrivalsView, startArrivals, stopArrivals } from "./views/arrivals.js";
import { peopleView } from "./views/people.js";
import { personView } from "./views/person.js";
import { registerView } from "./views/register.js";
import { signInView } from "./views/signin.js";
import { storeView } from "./views/store.js";
import { visitView } from "./views/visit.js";
import { visitsView } from "./views/visits.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");
let config;
let leaveView = null;

// Each screen and the permission (GET /me) it needs: a tablet sees arrivals only.
const routes = [
  [/^#\/arrivals$/, "arrivals", () => arrivalsView, "see_arrivals"],
  [/^#\/register$/, "register", () => registerView, "register_people"],
  [/^#\/people$/, "people", () => peopleView, "find_people"],
  [/^#\/people\/([0-9a-f-]{36})$/, "people", () => personView, "find_people"],
  // A visit, as the alert email links it: its id is the first sighting, URL-encoded.
  [/^#\/people\/([0-9a-f-]{36})\/visits\/([^/]+)$/, "visits", () => visitView, "see_visit_history"],
  [/^#\/visits(?:\/(\d{4}-\d\d-\d\d))?$/, "visits", () => visitsView, "see_visit_history"],
  [/^#\/store$/, "store", () => storeView, "see_arrivals"],
];
let me = null; // {staff, role, permissions} of the signed-in account

async function whoAmI() {
  if (!me) {
    try {
      me = await call("GET", "/me");
    } catch {
      me = { permissions: [] };
    }
  }
  return me;
}

async function route() {
  if (leaveView) leaveView();
  leaveView = null;
  const token = await idToken();
  if (!token) {
    nav.hidden = true;
    signOutButton.hidden = true;
    stopArrivals();
    show(main, signInView(config, () => route()));
    return;
  }
  const { permissions } = await whoAmI();
  const allowed = routes.filter(([, , , permission]) => permissions.includes(permission));
  for (const link of nav.querySelectorAll("a")) {
    link.hidden = !allowed.some(([, name]) => name === link.dataset.view);
  }
  nav.hidden = false;
  signOutButton.hidden = false;
  if (!allowed.length) {
    show(main, h("div", { class: "alert", role: "alert" }, "Your account has no role yet. Ask a manager to give it one."));
    return;
  }
  if (permissions.includes("see_arrivals")) startArrivals(config, permissions);
  const hash = location.hash || `#/${allowed[0][1]}`;
  const match = allowed.find(([pattern]) => pattern.test(hash));
  if (!match) {
    location.hash = `#/${allowed[0][1]}`;
    return;
  }
  const [pattern, name, view] = match;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const args = hash.match(pattern).slice(1);
  leaveView = (await view()(main, { ...config, permissions }, ...args)) || null;
  main.focus();
}

signOutButton.addEventListener("click", async () => {
  stopArrivals();
  me = null;
  await signOut();
  location.hash = "";
  route();
});
window.addEventListener("greeter:signed-out", () => {
  me = null;
  route();
});
window.addEventListener("hashchange", route);

async function start() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    config = await response.json();
  } catch {
    show(main, h("div", { class: "alert", role: "alert" }, "The app cannot find its settings. Reload the page; if it stays, tell your manager."));
    return;
  }
  document.documentElement.lang = config.locale || navigator.language || "en";
  configureFormat(config);
  configureAuth(config);
  configureApi(config);
  route();
}

start();
