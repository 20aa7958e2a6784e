// One visit, as the alert email links it (#/people/<id>/visits/<first sighting>): when, how long, which cameras,
// the alert and who looked after them, and a "Watch" link per camera to the video of the moment (a fresh link each
// time the page opens), or a plain sentence when there is no video.
import { call } from "../api.js";
import { alertBox, h, show } from "../dom.js";
import { dateTime, minutes, time } from "../format.js";
import { sentence } from "../messages.js";

export async function visitView(main, config, personId, encodedVisit) {
  const visitId = decodeURIComponent(encodedVisit);
  const back = h("p", {}, h("a", { href: (config.permissions || []).includes("find_people") ? `#/people/${personId}` : "#/visits" }, "← Back"));
  show(main, back, h("h1", {}, "Visit"), h("p", {}, "Loading…"));
  let answer;
  try {
    answer = await call("GET", `/people/${personId}/visits/${encodeURIComponent(visitId)}/video`);
  } catch (error) {
    const text = error.code === "visit_not_found" || error.code === "person_not_found"
      ? "This visit is no longer in the history: it has expired, or the customer was erased."
      : sentence(error);
    show(main, back, h("h1", {}, "Visit"), alertBox(text));
    return;
  }
  const { visit, clips } = answer;
  show(
    main,
    back,
    h("h1", {}, `${visit.name || "Erased customer"} — ${dateTime(visit.arrived)}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Arrived"), h("dd", {}, dateTime(visit.arrived)),
      h("dt", {}, "Last seen"), h("dd", {}, `${time(visit.left)}${visit.in_store ? " (in the store now)" : ""}`),
      h("dt", {}, "Time in store"), h("dd", {}, minutes(visit.minutes)),
      h("dt", {}, "Cameras"), h("dd", {}, visit.cameras.join(", ")),
      h("dt", {}, "Alert"), h("dd", {}, visit.alerted_at ? `Sent at ${time(visit.alerted_at)}` : "No alert was sent"),
      h("dt", {}, "Looked after by"), h("dd", {}, visit.acknowledged_by ? `${visit.acknowledged_by} at ${time(visit.acknowledged_at)}` : "—"),
    ),
    h("section", { "aria-labelledby": "video-title" },
      h("h2", { id: "video-title" }, "Video"),
      h("ul", { class: "clips" }, clips.map((clip) => h("li", {},
        h("strong", {}, `Camera ${clip.camera}: `),
        clip.url
          ? [h("a", { href: clip.url, target: "_blank", rel: "noopener noreferrer", class: "button" }, `Watch (${clip.camera})`),
             h("span", { class: "hint" }, ` The link plays until ${time(clip.expires_at)}.`)]
          : h("span", {}, clip.unavailable),
      ))),
      // The link is an HLS playlist: browsers that play HLS themselves open it, the others download a file.
      clips.some((clip) => clip.url)
        ? h("p", { class: "hint" }, "The video plays in Safari (Mac, iPhone, iPad) and in Chrome on Android; "
          + "Chrome, Edge or Firefox on a computer may download the file instead of playing it.")
        : null,
    ),
  );
}
