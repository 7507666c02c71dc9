/**
 * The dashboard's third-party browser modules, as text: served as they are published on npm
 * (pinned in deno.lock), with no build step. Text imports put them in the module graph, so
 * `deno install` fetches them with everything else and a compiled binary would carry them.
 * @module
 */
import preact from "npm:preact@10.29.8" with { type: "text" };
import preactHooks from "npm:preact@10.29.8/hooks" with { type: "text" };
import htm from "npm:htm@3.1.1" with { type: "text" };
import uplot from "npm:uplot@1.6.32/dist/uPlot.esm.js" with { type: "text" };
import uplotCss from "npm:uplot@1.6.32/dist/uPlot.min.css" with { type: "text" };

/** Vendor files by their name under `/ui/vendor/`. */
export const VENDOR_FILES: Readonly<Record<string, string>> = {
  "preact.js": preact,
  "preact-hooks.js": preactHooks,
  "htm.js": htm,
  "uplot.js": uplot,
  "uplot.css": uplotCss,
};

/** The import map the page declares, so the modules' bare imports (`preact`) resolve. */
export const IMPORT_MAP = {
  imports: {
    "preact": "/ui/vendor/preact.js",
    "preact/hooks": "/ui/vendor/preact-hooks.js",
    "htm": "/ui/vendor/htm.js",
    "uplot": "/ui/vendor/uplot.js",
  },
};
