// Parse a Mermaid diagram from stdin with Mermaid itself; exit 1 with the parser's message on error.
// The test copies this file into the directory scripts/install-mermaid.sh installs into,
// so `jsdom` and `mermaid` resolve from its node_modules.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
try {
  const result = await mermaid.parse(readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (error) {
  process.stderr.write(String((error && error.message) || error) + "\n");
  process.exit(1);
}
