/**
 * A log entry's JSON, computed once however many times it is sent or written: the leader puts
 * each entry in its own log file and in an AppendEntries message to every follower, and
 * `JSON.stringify` of the same entry three times was a visible share of its time. The text is
 * cached by entry object (entries are immutable once appended), so it lives as long as the
 * entry does.
 * @module
 */

const cache = new WeakMap<object, string>();

/** `JSON.stringify(entry)`, cached for this entry object. */
export function entryJson(entry: object): string {
  let json = cache.get(entry);
  if (json === undefined) {
    json = JSON.stringify(entry);
    cache.set(entry, json);
  }
  return json;
}

/**
 * `JSON.stringify(message)` for a message with an `entries` array of entries, with each entry's
 * text from {@link entryJson}. The other fields are numbers and fixed strings, so the empty
 * `"entries":[]` in the rest's JSON is the field itself.
 */
export function stringifyWithEntries(message: { entries: readonly object[] }): string {
  if (message.entries.length === 0) return JSON.stringify(message);
  const rest = JSON.stringify({ ...message, entries: [] });
  const at = rest.indexOf('"entries":[]');
  if (at < 0) return JSON.stringify(message);
  const entries = message.entries.map(entryJson).join(",");
  return `${rest.slice(0, at)}"entries":[${entries}]${rest.slice(at + '"entries":[]'.length)}`;
}
