// Parse every ```mermaid block of the given Markdown files with the real Mermaid parser.
// Not part of the test suite (CI never needs npm): run by hand after changing reorg/render/diagram.py.
//   cd tools/mermaid && npm install && node check.mjs ../../plans/reorg.md [more.md ...]
// Exit 0 when every block parses; 1 with one line per block that does not.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const version = JSON.parse(readFileSync(new URL("./node_modules/mermaid/package.json", import.meta.url))).version;
let bad = 0;
let seen = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const [i, block] of blocks.entries()) {
    seen++;
    try {
      await mermaid.parse(block);
    } catch (e) {
      bad++;
      console.log(`${file}: block ${i + 1}: ${String(e.message || e).split("\n").slice(0, 3).join(" | ")}`);
    }
  }
}
console.log(`mermaid ${version}: ${seen - bad} of ${seen} diagram(s) parse`);
process.exit(bad || !seen ? 1 : 0);
