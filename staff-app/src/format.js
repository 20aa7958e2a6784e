// Dates and times in the store's time zone and the device's language (or the store's locale when set).
let settings = { locale: undefined, timeZone: undefined };

export function configureFormat(config) {
  settings = { locale: config.locale || undefined, timeZone: config.storeTimeZone || undefined };
}

export function dateTime(value) {
  if (!value) return "";
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(settings.locale, { dateStyle: "medium", timeStyle: "short", timeZone: settings.timeZone }).format(date);
}

export function time(value) {
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(settings.locale, { timeStyle: "short", timeZone: settings.timeZone }).format(date);
}

export function percent(value) {
  return new Intl.NumberFormat(settings.locale, { maximumFractionDigits: 1 }).format(value) + " %";
}

export function date(value) {
  const when = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(settings.locale, { dateStyle: "full", timeZone: settings.timeZone }).format(when);
}

/** Today (or `value`) as YYYY-MM-DD in the store's time zone: the day the API's dates mean. */
export function storeDay(value = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: settings.timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(value instanceof Date ? value : new Date(value));
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

export function minutes(value) {
  const whole = Math.round(value);
  if (whole < 1) return "under a minute";
  if (whole < 60) return `${whole} min`;
  return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")} min`;
}
