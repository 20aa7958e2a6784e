// Arrivals: placeholder until the real-time channel is wired.
import { h, show } from "../dom.js";
export function startArrivals() {}
export function stopArrivals() {}
export function arrivalsView(main) {
  show(main, h("h1", {}, "Arrivals"));
}
