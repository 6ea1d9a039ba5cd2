// A case's cut responses in full (evals/report/html.py), as text only: the one the link
// names (#run/item/repeat) first, then the others.
"use strict";
(async () => {
  const node = document.querySelector('script[data-block="full"]');
  const bytes = Uint8Array.from(atob(node.textContent), (c) => c.charCodeAt(0));
  const texts = JSON.parse(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text());
  const wanted = decodeURIComponent(location.hash.slice(1));
  const keys = Object.keys(texts).sort((a, b) => (b === wanted) - (a === wanted));
  const out = document.getElementById("full");
  for (const key of keys) {
    const pre = document.createElement("pre");
    pre.textContent = texts[key].replace(/[\u0000-\u0008\u000b-\u000c\u000e-\u001f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)));
    const head = document.createElement("h3");
    head.textContent = key;
    head.id = key;
    out.append(head, pre);
  }
  document.body.dataset.ready = "full";
})();
