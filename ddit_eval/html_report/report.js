// The report's browser side: views chosen by the address's #hash, and the sample browser that loads its
// data files on demand (script tags: file:// pages may not fetch()).  Plain JavaScript, no framework.
// Hash keys: task=KEY&filter=NAME&q=TEXT&page=N (a sample browser), geneval=KEY&tag=T&fail=1, ablation=KEY.
(function () {
  "use strict";
  const root = document.documentElement;
  const errors = [];
  const MAX_PAGES_HELD = 40;

  function noteError(message) {
    errors.push(String(message));
    root.setAttribute("data-errors", errors.join(" | "));
    const box = document.getElementById("js-errors");
    if (box) {
      box.hidden = false;
      box.textContent = "This page hit an error: " + errors.join("; ");
    }
  }
  window.addEventListener("error", (e) => noteError(e.message || "script error"));
  window.addEventListener("unhandledrejection", (e) => noteError((e.reason && e.reason.message) || e.reason));

  const manifest = JSON.parse(document.getElementById("ddit-manifest").textContent);
  const datasets = manifest.datasets || {};
  const store = {};
  const data = (key) => store[key] || (store[key] = { pages: {}, flags: null, texts: null });
  window.dditPage = (key, n, records) => { data(key).pages[n] = records; };
  window.dditFlags = (key, flags) => { data(key).flags = flags; };
  window.dditSearch = (key, texts) => { data(key).texts = texts; };

  const loading = {};
  function load(src) {
    if (!loading[src]) {
      loading[src] = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = src;
        s.onload = () => { s.remove(); resolve(); };
        s.onerror = () => { s.remove(); delete loading[src]; reject(new Error("cannot load " + src)); };
        document.head.appendChild(s);
      });
    }
    return loading[src];
  }
  const pageSrc = (ds, n) => ds.dir + "/page-" + String(n).padStart(4, "0") + ".js";

  // ---------------------------------------------------------------- small DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === "") continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "n/a";
    return typeof v === "number" ? String(Number(v.toPrecision(4))) : String(v);
  }

  // ---------------------------------------------------------------- the address
  function readHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    return { task: p.get("task"), filter: p.get("filter") || "", q: (p.get("q") || "").trim(),
             page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1), geneval: p.get("geneval"),
             tag: p.get("tag") || "", fail: p.get("fail") === "1", ablation: p.get("ablation") };
  }
  function go(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
    const hash = "#" + p.toString();
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // ---------------------------------------------------------------- views
  function show(viewName) {
    for (const view of document.querySelectorAll("section.view")) view.hidden = view.dataset.view !== viewName;
    root.setAttribute("data-view", viewName);
    window.scrollTo(0, 0);
  }
  function route() {
    root.removeAttribute("data-ready");
    const state = readHash();
    if (state.task) return showSamples(state);
    if (state.geneval) return showGeneval(state);
    if (state.ablation && document.querySelector(`section[data-view="ablation:${CSS.escape(state.ablation)}"]`)) {
      show("ablation:" + state.ablation);
    } else {
      show("overview");
    }
    root.setAttribute("data-ready", "1");
  }

  function showGeneval(state) {
    const name = "geneval:" + state.geneval;
    const section = document.querySelector(`section[data-view="${CSS.escape(name)}"]`);
    if (!section) { show("overview"); root.setAttribute("data-ready", "1"); return; }
    show(name);
    section.classList.toggle("only-failed", state.fail);
    section.querySelector("input.only-failed").checked = state.fail;
    let shown = 0;
    for (const block of section.querySelectorAll("section.tag")) {
      block.hidden = Boolean(state.tag) && block.dataset.tag !== state.tag;
      if (!block.hidden) shown += block.querySelectorAll(state.fail ? ".prompt.failed" : ".prompt").length;
    }
    section.setAttribute("data-shown", String(shown));
    root.setAttribute("data-ready", "1");
  }
  document.addEventListener("change", (e) => {
    if (!e.target.matches("input.only-failed")) return;
    const s = readHash();
    go({ geneval: s.geneval, tag: s.tag, fail: e.target.checked ? "1" : "" });
  });

  // ---------------------------------------------------------------- the sample browser
  let renderToken = 0;
  function matching(ds, d, state) {
    if (!state.filter && !state.q) return null;  // every sample, in log order
    const filter = (ds.filters || []).find((f) => f.name === state.filter);
    const bit = filter ? filter.bit : 0;
    const q = state.q.toLowerCase();
    const out = [];
    for (let i = 0; i < ds.total; i++) {
      if (state.filter && !(parseInt(d.flags[i], 16) & bit)) continue;
      if (q && d.texts[i].indexOf(q) < 0) continue;
      out.push(i);
    }
    return out;
  }
  function forget(ds, d, keep) {
    const held = Object.keys(d.pages).map(Number);
    if (held.length <= MAX_PAGES_HELD) return;
    for (const n of held) if (!keep.has(n)) { delete d.pages[n]; delete loading[pageSrc(ds, n)]; }
  }

  function showSamples(state) {
    show("samples");
    const ds = datasets[state.task];
    const section = document.querySelector('section[data-view="samples"]');
    section.setAttribute("data-key", state.task);
    if (!ds) {
      document.getElementById("samples-title").textContent = "No samples named " + state.task;
      document.getElementById("samples-rows").replaceChildren();
      root.setAttribute("data-ready", "1");
      return;
    }
    const token = ++renderToken;
    setControls(ds, state);
    const d = data(state.task);
    const needed = [];
    if (state.filter) needed.push(load(ds.dir + "/flags.js"));
    if (state.q) needed.push(load(ds.dir + "/search.js"));
    document.getElementById("samples-status").textContent = "loading…";
    return Promise.all(needed).then(() => {
      const positions = matching(ds, d, state);
      const count = positions ? positions.length : ds.total;
      const pages = Math.max(1, Math.ceil(count / ds.pageSize));
      const page = Math.min(state.page, pages);
      const start = (page - 1) * ds.pageSize;
      const shown = positions ? positions.slice(start, start + ds.pageSize)
        : Array.from({ length: Math.max(0, Math.min(count, start + ds.pageSize) - start) }, (_, k) => start + k);
      const files = new Set(shown.map((p) => Math.floor(p / ds.pageSize) + 1));
      return Promise.all([...files].map((n) => load(pageSrc(ds, n)))).then(() => {
        if (token !== renderToken) return;
        const records = shown.map((p) => d.pages[Math.floor(p / ds.pageSize) + 1][p % ds.pageSize]);
        renderRows(ds, records);
        renderPager(state, page, pages, count, ds);
        forget(ds, d, files);
        section.setAttribute("data-matches", String(count));
        section.setAttribute("data-page", String(page));
        root.setAttribute("data-ready", "1");
      });
    }).catch((e) => {
      document.getElementById("samples-status").textContent = String(e.message || e);
      noteError(e.message || e);
    });
  }

  function setControls(ds, state) {
    document.getElementById("samples-title").textContent = ds.title;
    document.getElementById("samples-notes").replaceChildren(...(ds.notes || []).map((n) => el("li", {}, n)));
    const select = document.getElementById("samples-filter");
    const options = [el("option", { value: "" }, `all samples (${ds.total})`)];
    for (const f of ds.filters || []) {
      const label = f.na ? `${f.label || f.name}: n/a` : `${f.label || f.name} (${f.count})`;
      options.push(el("option", { value: f.name, disabled: f.na }, label));
    }
    select.replaceChildren(...options);
    select.value = state.filter;
    document.getElementById("samples-search").value = state.q;
  }

  function renderPager(state, page, pages, count, ds) {
    const what = state.filter || state.q
      ? `${count} of ${ds.total} samples match` + (state.filter ? ` filter “${state.filter}”` : "")
        + (state.q ? ` search “${state.q}”` : "")
      : `${ds.total} samples`;
    document.getElementById("samples-status").textContent =
      `${what}; page ${page} of ${pages} (${ds.pageSize} a page; filters and search cover every sample)`;
    for (const pager of document.querySelectorAll(".pager")) {
      const link = (label, n, enabled) => enabled
        ? el("a", { href: "#" + new URLSearchParams({ task: state.task, ...(state.filter && { filter: state.filter }),
          ...(state.q && { q: state.q }), page: String(n) }).toString() }, label)
        : el("span", { class: "off" }, label);
      pager.replaceChildren(link("« first", 1, page > 1), link("‹ previous", page - 1, page > 1),
        el("span", {}, ` page ${page} of ${pages} `), link("next ›", page + 1, page < pages),
        link("last »", pages, page < pages));
    }
  }

  // ---------------------------------------------------------------- rows
  function badges(ds, flags) {  // the filters' names and bits come from the manifest (html_report/status.py)
    const found = (ds.filters || []).filter((f) => flags & f.bit).map((f) => el("span", { class: "badge " + f.name }, f.name));
    const rightOrWrong = (ds.filters || []).some((f) => f.name === "wrong" && !f.na);  // a caption is scored, not right
    const none = rightOrWrong ? "ok" : "scored";
    return found.length ? found : [el("span", { class: "badge " + none }, none)];
  }
  function scoresList(scores) {
    return el("ul", { class: "scores" }, Object.entries(scores || {}).map(([k, v]) => el("li", {}, `${k} ${fmt(v)}`)));
  }
  function thumb(ds, src, alt) {
    return src ? el("img", { src: ds.dir + "/" + src, alt: alt || "", loading: "lazy" }) : null;
  }
  function generated(ds, images) {
    return el("div", { class: "figs" }, (images || []).map((im) => el("figure",
      { class: "gen " + (im.ok === true ? "pass" : im.ok === false ? "fail" : "") },
      im.src ? thumb(ds, im.src, "generated image") : el("div", { class: "noimg" }, "no image"),
      im.ok === null || im.ok === undefined ? null
        : el("figcaption", {}, el("b", {}, im.ok ? "PASS" : "FAIL"), im.why ? " " + im.why : ""))));
  }
  function answer(ds, side) {
    if (!side) return el("span", { class: "muted" }, "not in this run");
    if (side.e) {
      return el("div", { class: "error" }, el("b", {}, side.e),
        side.tb ? el("details", {}, el("summary", {}, "traceback"), el("pre", {}, side.tb)) : null);
    }
    if (side.im) return generated(ds, side.im);
    if (side.p === undefined) return el("span", { class: "muted" }, "no text prediction");
    return side.p.trim() ? el("span", { class: "pred" }, side.p) : el("span", { class: "muted" }, "(empty answer)");
  }
  function sampleCell(rec, extra) {
    return el("td", { class: "id" }, el("code", {}, rec.id),
      el("div", { class: "chips" }, Object.entries(rec.m || {}).map(([k, v]) => el("span", { class: "chip", title: k }, v))),
      extra);
  }
  function refs(rec) {
    return el("td", {}, el("ul", { class: "refs" }, (rec.r || []).map((r) => el("li", {}, r))));
  }
  function runRow(ds, rec) {
    const head = sampleCell(rec, el("div", {}, badges(ds, rec.f)));
    if (ds.generates) {  // prompt, its images, scores: no input image, no reference answers
      return el("tr", { class: "sample", "data-id": rec.id, "data-flags": String(rec.f) },
        head, el("td", {}, rec.q || ""), el("td", {}, answer(ds, rec)), el("td", {}, scoresList(rec.s)));
    }
    return el("tr", { class: "sample", "data-id": rec.id, "data-flags": String(rec.f) },
      head, el("td", { class: "img" }, thumb(ds, rec.t, "input image")),
      el("td", {}, rec.q || el("span", { class: "muted" }, "(image only)")), el("td", {}, answer(ds, rec)), refs(rec),
      el("td", {}, scoresList(rec.s)));
  }
  function compareRow(ds, rec) {
    const side = (s) => s && el("div", {}, answer(ds, s), scoresList(s.s));
    return el("tr", { class: "sample", "data-id": rec.id, "data-flags": String(rec.f) },
      sampleCell(rec, el("div", {}, badges(ds, rec.f))), el("td", { class: "img" }, thumb(ds, rec.t, "input image")),
      el("td", {}, rec.q || ""), refs(rec), el("td", { class: "side" }, side(rec.b) || answer(ds, null)),
      el("td", { class: "side" }, side(rec.n) || answer(ds, null)));
  }
  const HEADS = { run: ["sample", "image", "question / prompt", "prediction", "references", "scores"],
                  generated: ["sample", "prompt", "generated images", "scores"],
                  compare: ["sample", "image", "question / prompt", "references", "baseline", "candidate"] };
  function renderRows(ds, records) {
    const layout = ds.kind === "run" && ds.generates ? "generated" : ds.kind;
    document.getElementById("samples-head").replaceChildren(el("tr", {}, HEADS[layout].map((h) => el("th", {}, h))));
    document.querySelector("table.samples").className = "samples " + layout;
    const row = ds.kind === "compare" ? compareRow : runRow;
    const rows = records.map((rec) => row(ds, rec));
    if (!rows.length) rows.push(el("tr", { class: "none" }, el("td", { colspan: "6" }, "no sample matches")));
    document.getElementById("samples-rows").replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- controls
  document.getElementById("samples-controls").addEventListener("submit", (e) => {
    e.preventDefault();
    const s = readHash();
    go({ task: s.task, filter: document.getElementById("samples-filter").value,
         q: document.getElementById("samples-search").value.trim() });
  });
  document.getElementById("samples-filter").addEventListener("change", (e) => {
    const s = readHash();
    go({ task: s.task, filter: e.target.value, q: s.q });
  });
  document.getElementById("samples-clear").addEventListener("click", () => go({ task: readHash().task }));
  window.addEventListener("hashchange", route);
  route();
})();
