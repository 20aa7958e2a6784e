// The staff API: every call carries the signed-in staff member's ID token; refusals come back as ApiError with
// the API's stable code (messages.js turns it into a sentence).
import { idToken } from "./auth.js";

let base = "";

export function configureApi(config) {
  base = config.apiUrl.replace(/\/$/, "");
}

export class ApiError extends Error {
  constructor(status, body, offline = false) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.reasons = (body && body.reasons) || [];
    this.personId = body && body.person_id;
    this.fields = (body && body.fields) || [];
    this.offline = offline;
  }
}

export async function call(method, path, body, headers = {}) {
  const token = await idToken();
  if (!token) throw new ApiError(401, { code: "unauthorized", message: "not signed in" });
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers: {
        Authorization: token.getJwtToken(),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null, true);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new CustomEvent("greeter:signed-out"));
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

/** A file the API sends (the CSV export): fetched with the staff member's token, handed over as a download. */
export async function download(path, fallbackName) {
  const token = await idToken();
  if (!token) throw new ApiError(401, { code: "unauthorized", message: "not signed in" });
  let response;
  try {
    response = await fetch(base + path, { headers: { Authorization: token.getJwtToken() } });
  } catch {
    throw new ApiError(0, null, true);
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("greeter:signed-out"));
    throw new ApiError(response.status, parsed);
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const named = disposition.match(/filename="([^"]+)"/);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = named ? named[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return link.download;
}

/** Every registered person (the API pages by 100; a store has hundreds, not millions). */
export async function allPeople() {
  const people = [];
  let token = null;
  do {
    const query = new URLSearchParams({ limit: "100", ...(token ? { next_token: token } : {}) });
    const page = await call("GET", `/people?${query}`);
    people.push(...page.people);
    token = page.next_token;
  } while (token);
  return people;
}

export async function fileToBase64(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
