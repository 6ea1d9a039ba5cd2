// What both report pages share (evals/report/html.py puts it before each page's own script):
// reading a data block (JSON, gzip, base64), and text with its control characters made visible.
"use strict";

const blocks = new Map();
function unpack(name) {
  if (!blocks.has(name)) {
    const node = document.querySelector(`script[data-block="${CSS.escape(name)}"]`);
    if (!node) return Promise.resolve(null);
    const bytes = Uint8Array.from(atob(node.textContent), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    blocks.set(name, new Response(stream).text().then(JSON.parse));
  }
  return blocks.get(name);
}

// Control characters shown as their Unicode pictures (tab and newline kept).
const CONTROL = /[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f]/g;
const visible = (s) => String(s).replace(CONTROL, (c) => String.fromCharCode(c === "\u007f" ? 0x2421 : 0x2400 + c.charCodeAt(0)));
