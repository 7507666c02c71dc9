/**
 * Where to cut text kept by its newest part (live output tails) without splitting a character
 * in two: a cut before a low surrogate moves past it.
 * @module
 */

/**
 * `at`, or `at + 1` when `text[at]` is the second half of a surrogate pair.
 * @example
 * ```ts
 * cutPoint("😀ab", 1); // 2: "ab" is kept, not half an emoji
 * ```
 */
export function cutPoint(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff ? at + 1 : at;
}
