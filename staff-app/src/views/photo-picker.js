// A photo from the webcam (live preview with an oval to frame the face) or from a file. Calls onPhoto(blob).
import { h, show } from "../dom.js";

export function photoPicker(onPhoto, { label = "Photo" } = {}) {
  const video = h("video", { autoplay: true, muted: true, playsinline: true, "aria-label": "Camera preview" });
  const still = h("img", { alt: "The photo that will be used", hidden: true });
  const stage = h("div", { class: "camera" }, video, still, h("div", { class: "frame", "aria-hidden": "true" }));
  const status = h("p", { class: "hint", role: "status" });
  const capture = h("button", { type: "button", disabled: true }, "Take photo");
  const retake = h("button", { type: "button", class: "quiet", hidden: true }, "Take again");
  const fileInput = h("input", { type: "file", accept: "image/jpeg,image/png", class: "visually-hidden", id: `file-${Math.random().toString(36).slice(2)}` });
  const fileLabel = h("label", { for: fileInput.id, class: "button quiet" }, "Choose a file");
  let stream = null;

  const guidance = h(
    "ul",
    { class: "hint" },
    h("li", {}, "Only the customer in the picture — nobody behind them."),
    h("li", {}, "Face inside the oval, looking at the camera, no sunglasses or hat."),
    h("li", {}, "Good light on the face, no bright window behind."),
  );

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(status, "This device has no camera the app can use: choose a photo file instead.");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
      video.srcObject = stream;
      await video.play().catch(() => {});
      capture.disabled = false;
      show(status, "Camera ready.");
    } catch (error) {
      const denied = error && error.name === "NotAllowedError";
      show(status, denied ? "The camera is blocked for this page: allow it in the browser's settings, or choose a photo file." : "No camera found: choose a photo file instead.");
    }
  }

  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
  }

  function showStill(blob) {
    if (still.src) URL.revokeObjectURL(still.src);
    still.src = URL.createObjectURL(blob);
    still.hidden = false;
    video.hidden = true;
    capture.hidden = true;
    retake.hidden = false;
    onPhoto(blob);
  }

  capture.addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => blob && showStill(blob), "image/jpeg", 0.92);
  });
  retake.addEventListener("click", () => {
    still.hidden = true;
    video.hidden = false;
    capture.hidden = false;
    retake.hidden = true;
    onPhoto(null);
  });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    if (file) showStill(file);
    fileInput.value = "";
  });

  startCamera();
  const node = h(
    "fieldset",
    { class: "panel" },
    h("legend", {}, label),
    stage,
    guidance,
    status,
    h("div", { class: "row" }, capture, retake, fileInput, fileLabel),
  );
  return { node, stop: stopCamera };
}
