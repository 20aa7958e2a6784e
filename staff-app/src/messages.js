// Every refusal code of the staff API (functions/registration/errors.py, the gateway's responses in template.yaml)
// as a sentence a shop assistant can act on. Unknown codes fall back to the API's own message.
const SENTENCES = {
  consent_required: "The consent record is incomplete: fill in who gave consent and tick that they agreed.",
  validation_error: "Some details are not valid — check the highlighted fields.",
  invalid_json: "The app sent something the server could not read. Reload the page and try again.",
  unsupported_media_type: "The app sent something the server could not read. Reload the page and try again.",
  not_an_image: "That file is not a photo. Use a JPEG or PNG picture.",
  truncated_image: "The photo is damaged or was only partly sent. Take it again or pick another file.",
  image_too_large: "The photo is too large (over 5 MB). Take a new one with the camera or pick a smaller file.",
  no_face: "No face was found in the photo. Ask the customer to look at the camera, face inside the oval.",
  several_faces: "Two or more faces are in the photo — only the customer should be in the picture.",
  low_quality:
    "The face is not clear enough to recognise later. Use better light, hold still, and come closer so the face fills the oval.",
  face_rotated: "The photo is on its side or upside down. Turn it upright, or take it again with the camera.",
  duplicate_person: "This customer is already registered.",
  photo_limit_reached: "This person already has the most photos allowed. Erase and register them again to start over.",
  person_not_found: "This person is no longer registered (they may have been erased).",
  invalid_page_token: "The list changed while loading. Reload the page.",
  unauthorized: "Your session has ended. Sign in again.",
  access_denied: "Your account may not do this. Ask a manager.",
  request_in_progress: "The same request is still being processed. Wait a few seconds and try again.",
  idempotency_key_reused: "Something changed while the photo was being sent. Press the button again.",
  service_busy: "The service is busy right now; nothing was saved. Try again in a moment.",
  throttled: "Too many requests at once; nothing was saved. Try again in a moment.",
  timeout: "The server took too long to answer. Try again — nothing will be saved twice.",
  not_found: "The app asked for something that does not exist. Reload the page.",
  visit_not_found: "This customer's visit has ended: they have left the store.",
  forbidden: "Your account may not do this. Ask a manager.",
  invalid_date_range: "Those dates do not work: the first must come before the last, at most three months apart.",
  invalid_override: "The store hours cannot be changed like that: pick an end time later today or within the next two weeks.",
  internal_error: "Something went wrong on our side; nothing was saved. Try again, and tell your manager if it keeps happening.",
};

const QUALITY_REASONS = {
  face_too_small: "too small in the picture — come closer",
  head_turned: "turned away — look straight at the camera",
  head_tilted: "tilted — keep the head level",
  too_dark: "too dark — find more light",
  too_bright: "too bright — avoid direct light or a window behind",
  blurred: "blurred — hold still",
};

export function sentence(error) {
  if (error && error.offline) return "No connection to the server. Check the Wi-Fi and try again.";
  const code = error && error.code;
  let text = SENTENCES[code] || (error && error.message) || SENTENCES.internal_error;
  if (code === "low_quality" && error.reasons && error.reasons.length) {
    const parts = error.reasons.map((reason) => QUALITY_REASONS[reason.split(":")[0]] || reason);
    text += ` The face is ${parts.join("; ")}.`;
  }
  return text;
}

export const REFUSAL_CODES = Object.keys(SENTENCES);
