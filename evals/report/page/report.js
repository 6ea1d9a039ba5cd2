// The report page's views (evals/report/html.py): the cases' items and responses, and the
// drift view. Data blocks are unpacked when a view needs them. Every model output is put in
// the page as text (textContent), never as markup.
"use strict";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(visible(child)));
  }
  return node;
}

const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? "—" : (100 * x).toFixed(1));
const rate = (samples) => (samples.length ? samples.filter((s) => s.ok).length / samples.length : null);
const count = (samples) => (samples.length ? `${samples.filter((s) => s.ok).length}/${samples.length}` : "—");
// The baseline's counts as its record holds them (its responses may not be at hand).
const baseRate = (i) => (i.base_count ? i.base_count[0] / i.base_count[1] : rate(i.base));
const baseCount = (i) => (i.base_count ? `${i.base_count[0]}/${i.base_count[1]}` : count(i.base));

let meta = null;
const casesById = new Map();
const THINK_CLOSE = "</think>";

// ---- one response ------------------------------------------------------------------------

function appendMarked(target, text, hl) {
  // text, with [start, end) of it marked (the part the scorer read), if given
  if (!hl || hl[0] >= text.length || hl[1] <= 0) { target.append(visible(text)); return; }
  const [a, b] = [Math.max(0, hl[0]), Math.min(text.length, hl[1])];
  target.append(visible(text.slice(0, a)), el("mark", {}, text.slice(a, b)), visible(text.slice(b)));
}

function responseView(s, fullLink) {
  const pieces = s.text !== undefined ? [{ text: s.text, part: 0 }] : [{ text: s.head, part: 0 }, { cut: s.cut }, { text: s.tail, part: 1 }];
  let split = -1, splitAt = -1; // the piece holding the last </think>, and where the answer starts in it
  pieces.forEach((p, i) => { if (p.text !== undefined && p.text.lastIndexOf(THINK_CLOSE) >= 0) { split = i; splitAt = p.text.lastIndexOf(THINK_CLOSE) + THINK_CLOSE.length; } });
  const allThinking = split < 0 && (pieces[0].text || "").trimStart().startsWith("<think>");
  const thinking = el("pre"), answer = el("pre");
  pieces.forEach((p, i) => {
    const into = allThinking || i < split ? thinking : answer;
    if (p.cut !== undefined) {
      into.append(el("span", { class: "cut" }, `[… ${p.cut.toLocaleString()} characters cut; `,
        fullLink ? el("a", { href: fullLink, target: "_blank" }, "the full text") : "the full text is in the case's samples.jsonl", " …]"));
      return;
    }
    const hl = s.hl && s.hl[0] === p.part ? [s.hl[1], s.hl[2]] : null;
    if (i !== split || allThinking) { appendMarked(into, p.text, hl); return; }
    appendMarked(thinking, p.text.slice(0, splitAt), hl);
    const rest = p.text.slice(splitAt), blank = rest.length - rest.replace(/^\s*\n/, "").length; // the answer's leading blank lines
    appendMarked(answer, rest.slice(blank), hl && [hl[0] - splitAt - blank, hl[1] - splitAt - blank]);
  });
  const out = [];
  if (thinking.childNodes.length) out.push(el("details", { class: "thinking" }, el("summary", {}, `thinking (${thinking.textContent.length.toLocaleString()} characters shown)`), thinking));
  if (answer.childNodes.length) out.push(answer);
  return out;
}

function sampleView(s, side, item, caseId) {
  const verdict = s.ok ? el("span", { class: "ok" }, "✓ correct") : el("span", { class: "bad" }, "✗ wrong");
  const head = el("header", {}, `#${s.r} `, verdict, " · read: ", el("code", {}, s.ans === null || s.ans === undefined ? "nothing" : s.ans),
    s.note ? el("span", { class: "note" }, ` (${s.note})`) : null, ` · finish: ${s.fin ?? "?"} · ${s.tok ?? "?"} tokens`,
    s.fin === "length" ? el("span", { class: "bad" }, " · cut off at the token limit") : null);
  const hasText = s.text !== undefined || s.head !== undefined;
  const link = s.cut !== undefined ? `${caseId}/${meta.full_texts}#${encodeURIComponent(`${side}/${item}/${s.r}`)}` : null;
  return el("div", { class: `sample ${side}`, "data-side": side, "data-repeat": s.r }, head, hasText ? responseView(s, link) : null);
}

// ---- a case --------------------------------------------------------------------------------

const COLUMNS = [
  ["Item", (i) => i.id, false], ["Baseline", baseRate, true], ["Run", (i) => rate(i.run), true],
  ["Δ points", (i) => (baseRate(i) === null ? null : rate(i.run) - baseRate(i)), true],
  ["Run answers", (i) => answers(i.run), false], ["Mean tokens", (i) => mean(i.run.map((s) => s.tok)), true],
  ["Truncated", (i) => i.run.filter((s) => s.fin === "length").length, true],
];
function mean(xs) { const v = xs.filter((x) => typeof x === "number"); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; }
function answers(samples) {
  const tally = new Map();
  for (const s of samples) { const a = s.ans ?? "∅"; tally.set(a, (tally.get(a) || 0) + 1); }
  return [...tally].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([a, n]) => `${a.length > 24 ? a.slice(0, 24) + "…" : a} ×${n}`).join(", ");
}

const PAGE_ROWS = 100;

function itemDetail(item, data, against) {
  const run = el("div", {}, el("h4", {}, `This run: ${count(item.run)}`), item.run.map((s) => sampleView(s, "run", item.id, data.case)));
  const baseTitle = `${against ? "That run" : "Baseline"}: ${baseCount(item)}`;
  let base;
  if (!item.base.length) base = el("div", {}, el("h4", {}, baseTitle), el("p", { class: "why" }, data.baseline.why || "no baseline responses"));
  else {
    const texts = item.base.some((s) => s.text !== undefined || s.head !== undefined);
    base = el("div", {}, el("h4", {}, baseTitle, el("span", { class: "note" }, ` (${data.baseline.source})`)),
      texts ? null : el("p", { class: "note" }, `answers: ${answers(item.base)}; the baseline's texts are kept for items that flipped`),
      item.base.map((s) => sampleView(s, "base", item.id, data.case)));
  }
  return el("td", { colspan: COLUMNS.length },
    el("div", { class: "problem" }, el("strong", {}, "Problem: "), el("pre", {}, item.problem)),
    el("p", {}, "Gold: ", el("code", {}, item.gold), item.flip ? el("strong", { class: item.flip === "worse" ? "bad" : "ok" }, `  ${item.flip} than the baseline`) : null),
    el("div", { class: "sides" }, run, base));
}

function caseView(section, data, state) {
  const info = meta.cases.find((c) => c.id === data.case) || { gate: {} };
  const g = info.gate;
  section.replaceChildren(...[
    el("h2", {}, data.case),
    el("p", {}, `${info.primary}: ${pct(info.mean)}% on ${info.n} items, up to ${info.k} samples each. `,
      g.status ? el("strong", {}, `${meta.against ? "Against " + meta.against : "Gate"}: ${g.status}`) : "No gate verdict",
      g.drop !== undefined ? ` — baseline ${pct(g.reference)}%, now ${pct(g.current)}%, drop ${pct(g.drop)} points (upper bound ${pct(g.upper)}, margin ${pct(g.margin)}, detectable ${pct(g.detectable)}), p ${Number(g.p_value).toPrecision(3)}` : ""),
    data.missing ? el("p", { class: "why" }, data.missing) : null,
    data.baseline.why ? el("p", { class: "why" }, `Baseline responses: ${data.baseline.why}`) : el("p", { class: "note" }, `Baseline responses from ${data.baseline.source}`)].filter(Boolean));
  const filter = el("select", { id: "flip-filter", onchange: () => { state.filter = filter.value; state.shown = PAGE_ROWS; draw(); } },
    ...[["all", "all items"], ["flipped", "flipped (worse or better)"], ["worse", "worse"], ["better", "better"]].map(([v, t]) => el("option", { value: v, selected: v === state.filter }, t)));
  const search = el("input", { id: "item-search", type: "search", placeholder: "item id", oninput: () => { state.search = search.value; state.shown = PAGE_ROWS; draw(); } });
  const summary = el("span", { id: "item-count", class: "note" });
  const tbody = el("tbody");
  const head = el("tr", {}, COLUMNS.map(([name], i) => el("th", {
    class: "sortable" + (COLUMNS[i][2] ? " num" : ""),
    onclick: () => { state.sort = state.sort === i ? -(i + 1) : i; draw(); },
  }, name)));
  const more = el("button", { class: "more", onclick: () => { state.shown += PAGE_ROWS; draw(); } }, "show more");
  section.append(el("div", { class: "controls" }, el("label", {}, "Show ", filter), el("label", {}, "Find ", search), summary),
    el("table", { id: "items" }, el("thead", {}, head), tbody), more);

  function draw() {
    let items = data.items.filter((i) => state.filter === "all" || (state.filter === "flipped" ? i.flip : i.flip === state.filter));
    if (state.search) items = items.filter((i) => i.id.includes(state.search));
    if (state.sort !== null) {
      const col = state.sort >= 0 ? state.sort : -state.sort - 1, sign = state.sort >= 0 ? 1 : -1, key = COLUMNS[col][1];
      items = [...items].sort((a, b) => { const x = key(a), y = key(b); return x === y ? 0 : x === null ? 1 : y === null ? -1 : sign * (x < y ? -1 : 1); });
    }
    summary.textContent = `${items.length} of ${data.items.length} items`;
    tbody.replaceChildren(...items.slice(0, state.shown).flatMap((item) => {
      const row = el("tr", { class: `item ${item.flip || ""}`, "data-item": item.id, "data-flip": item.flip || "" },
        COLUMNS.map(([, key, num], i) => {
          const v = key(item);
          const shown = i === 1 ? baseCount(item) : i === 2 ? count(item.run) : i === 3 ? (v === null ? "—" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}`) : i === 5 ? (v === null ? "—" : v.toFixed(0)) : v;
          return el("td", { class: num ? "num" : null }, shown ?? "—");
        }));
      const rows = [row];
      if (state.open.has(item.id)) rows.push(el("tr", { class: "detail", "data-detail": item.id }, itemDetail(item, data, meta.against)));
      row.addEventListener("click", () => { state.open.has(item.id) ? state.open.delete(item.id) : state.open.add(item.id); draw(); });
      return rows;
    }));
    more.hidden = items.length <= state.shown;
  }
  draw();
}

function casesIndex(section) {
  const rows = meta.cases.map((c) => el("tr", { "data-case": c.id },
    el("td", {}, el("a", { href: `#case=${encodeURIComponent(c.id)}` }, c.id)), el("td", { class: "num" }, `${pct(c.mean)}%`),
    el("td", {}, c.gate.status || "—"), el("td", { class: "num" }, c.gate.drop === undefined ? "—" : (-100 * c.gate.drop).toFixed(1)),
    el("td", { class: "num" }, `${c.worse} / ${c.better}`),
    el("td", {}, c.worse ? el("a", { href: `#case=${encodeURIComponent(c.id)}&filter=worse` }, "worse items") : "")));
  section.replaceChildren(el("h2", {}, "Cases"),
    el("p", {}, meta.against ? `Items compared with run ${meta.against}.` : "Items compared with each case's baseline."),
    el("table", {}, el("thead", {}, el("tr", {}, ["Case", "Run", "Verdict", "Δ points", "Items worse / better", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

// ---- drift ---------------------------------------------------------------------------------

function kldColour(kld) {
  const t = Math.max(0, Math.min(1, (Math.log10(Math.max(kld, 1e-6)) + 6) / 6)); // 1e-6 .. 1 nats
  return `hsla(${Math.round(50 - 50 * t)}, 95%, 55%, ${(0.08 + 0.85 * t).toFixed(2)})`;
}

function alternatives(list) { return el("td", {}, list.map(([text, lp]) => el("div", {}, el("code", {}, JSON.stringify(text)), ` ${lp.toFixed(3)}`))); }

function driftView(section, moved) {
  section.replaceChildren(el("h2", {}, "Drift: the responses that moved most"),
    el("p", { class: "note" }, "Tokens of the reference's responses, coloured by KL(reference ‖ precision) at each position (yellow: little, red: 1 nat and more); hover a token for its KLD. The blue bar is where the answer after </think> starts."));
  if (!Object.keys(moved).length) section.append(el("p", {}, "No drift test ran in this run."));
  for (const [precision, responses] of Object.entries(moved)) {
    section.append(el("h3", {}, precision.toUpperCase()));
    for (const r of responses) {
      const tokens = el("div", { class: "tokens" }, r.tokens.map(([text, kld], i) => el("span", {
        title: `KLD ${kld.toPrecision(3)}`, style: `background:${kldColour(kld)}`, class: i === r.answer_start ? "answer-start" : null }, text)));
      const worst = el("table", {}, el("thead", {}, el("tr", {}, ["Position", "Token", "KLD", "Top-1 agrees", "Reference's top tokens", `${precision.toUpperCase()}'s top tokens`].map((h) => el("th", {}, h)))),
        el("tbody", {}, r.worst.map((w) => el("tr", {}, el("td", { class: "num" }, w.index), el("td", {}, el("code", {}, JSON.stringify(w.token))),
          el("td", { class: "num" }, w.kld.toPrecision(3)), el("td", {}, w.top1_agrees ? "yes" : "no"), alternatives(w.reference), alternatives(w.candidate)))));
      section.append(el("div", { class: "sample drift-response", "data-case": r.case, "data-item": r.item },
        el("header", {}, `${r.case}, item ${r.item}: mean KLD ${r.mean_kld.toPrecision(3)} over ${r.tokens.length} tokens`), tokens, worst));
    }
  }
}

// ---- routing -------------------------------------------------------------------------------

const caseStates = new Map();
async function route() {
  const hash = decodeURIComponent(location.hash.slice(1)) || "overview";
  const params = new URLSearchParams(hash.includes("=") ? hash : "");
  const view = params.has("case") ? "case" : ["cases", "drift"].includes(hash) ? hash : "overview";
  for (const s of document.querySelectorAll("section.view")) s.hidden = s.id !== view;
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("on", a.dataset.view === view || (view === "case" && a.dataset.view === "cases"));
  const section = document.getElementById(view);
  const status = document.getElementById("status");
  if (view === "cases") casesIndex(section);
  if (view === "drift") driftView(section, (await unpack("drift")) || {});
  if (view === "case") {
    const id = params.get("case");
    status.textContent = "reading…";
    const data = await unpack(`case:${id}`);
    status.textContent = "";
    if (!data) { section.replaceChildren(el("p", {}, `No case ${id} in this report.`)); return; }
    if (!caseStates.has(id)) caseStates.set(id, { filter: "all", search: "", sort: null, shown: PAGE_ROWS, open: new Set() });
    const state = caseStates.get(id);
    if (params.get("filter")) state.filter = params.get("filter");
    if (params.get("item")) state.open.add(params.get("item"));
    caseView(section, data, state);
  }
  document.body.dataset.ready = view; // the view is drawn (tests wait for this)
}

unpack("meta").then((m) => { meta = m; window.addEventListener("hashchange", route); return route(); })
  .catch((e) => { document.getElementById("status").textContent = `the report's data could not be read: ${e}`; throw e; });
