// htm bound to Preact's h: JSX-like templates with no build step. Text in templates is set
// with DOM text nodes and attributes, never parsed as HTML, so user strings are escaped by
// construction (the page also enforces Trusted Types: an HTML string sink would throw).
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
