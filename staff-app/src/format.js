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
