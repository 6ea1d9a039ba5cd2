// A case's cut responses in full (evals/report/html.py), as text only: the one the link
// names (#run/item/repeat) open and first; each other one drawn when it is opened.
"use strict";
(async () => {
  const texts = await unpack("full");
  const wanted = decodeURIComponent(location.hash.slice(1));
  const keys = Object.keys(texts).sort((a, b) => (b === wanted) - (a === wanted));
  const out = document.getElementById("full");
  for (const key of keys) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `${key} (${texts[key].length.toLocaleString()} characters)`;
    details.id = key;
    details.append(summary);
    const draw = () => {
      if (!details.open || details.querySelector("pre")) return;
      const pre = document.createElement("pre");
      pre.textContent = visible(texts[key]);
      details.append(pre);
    };
    details.addEventListener("toggle", draw);
    out.append(details);
    if (key === wanted) { details.open = true; draw(); }
  }
  document.body.dataset.ready = "full";
})();
