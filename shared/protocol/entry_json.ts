/**
 * A log entry's JSON, computed once however many times it is sent or written: the leader puts
 * each entry in an AppendEntries message to every follower and in its own log file, and
 * `JSON.stringify` of the same entry three times was a visible share of its time. The text is
 * cached by entry object (entries are immutable once appended) when it is sent, and dropped when
 * the entry is written to the log ({@link takeEntryJson}), which comes right after: the cache holds
 * only entries in flight, not the whole log tail kept in memory until the next snapshot.
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

/** The entry's cached text, forgotten now (the log writes it once), or its JSON if none is cached. */
export function takeEntryJson(entry: object): string {
  const json = cache.get(entry);
  if (json === undefined) return JSON.stringify(entry);
  cache.delete(entry);
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
