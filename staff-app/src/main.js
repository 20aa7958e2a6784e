// The staff app's shell: reads config.json (written by the stack at deploy time), signs in, then routes by hash.
import { configureApi } from "./api.js";
import { configureAuth, idToken, signOut } from "./auth.js";
import { h, show } from "./dom.js";
import { configureFormat } from "./format.js";
import { arrivalsView, startArrivals, stopArrivals } from "./views/arrivals.js";
import { peopleView } from "./views/people.js";
import { personView } from "./views/person.js";
import { registerView } from "./views/register.js";
import { signInView } from "./views/signin.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");
let config;
let leaveView = null;

const routes = [
  [/^#\/arrivals$/, "arrivals", () => arrivalsView],
  [/^#\/register$/, "register", () => registerView],
  [/^#\/people$/, "people", () => peopleView],
  [/^#\/people\/([0-9a-f-]{36})$/, "people", () => personView],
];

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
  nav.hidden = false;
  signOutButton.hidden = false;
  startArrivals(config);
  const hash = location.hash || "#/arrivals";
  const match = routes.find(([pattern]) => pattern.test(hash));
  if (!match) {
    location.hash = "#/arrivals";
    return;
  }
  const [pattern, name, view] = match;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const args = hash.match(pattern).slice(1);
  leaveView = (await view()(main, config, ...args)) || null;
  main.focus();
}

signOutButton.addEventListener("click", async () => {
  stopArrivals();
  await signOut();
  location.hash = "";
  route();
});
window.addEventListener("greeter:signed-out", () => route());
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
