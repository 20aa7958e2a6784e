// The consent wording shown to the customer before registering, by version. The API records the version; a
// new wording gets a new version here (never edit a published one: records point at it).
export const CONSENT = {
  version: "2026-01",
  text:
    "I agree that this store keeps my photo and the details above so that its staff are told when I come in " +
    "and can greet me. A camera at the entrance compares faces with the photos of people who agreed; faces of " +
    "everyone else are not kept. I can ask any member of staff to erase everything about me at any time.",
};
