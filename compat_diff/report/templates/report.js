"use strict";
// The compat-diff report viewer. Data arrives as JSON in script elements; every value from the
// recording or a candidate is inserted with textContent (never innerHTML), because bodies and
// headers come from servers we do not trust.
(function () {
  const SEVERITIES = ["critical", "major", "minor"];
  const PAGE = 50;

  const summary = JSON.parse(document.getElementById("cd-summary").textContent);
  // The verdicts come from the report itself, so the viewer never disagrees with the writers.
  const VERDICTS = summary.verdicts || ["match", "diverges", "not-implemented", "error", "skipped"];
  const index = JSON.parse(document.getElementById("cd-index").textContent);
  const targets = summary.targets;
  const S = index.strings;
  const rowCount = index.seq.length;

  // ---------------------------------------------------------------- small helpers
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else if (key === "dataset") Object.assign(node.dataset, value);
        else node.setAttribute(key, value === true ? "" : value);
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  function pct(score) {
    if (score === null || score === undefined) return "n/a";
    const value = score * 100;
    return (value < 100 && Math.round(value) === 100 ? 99 : Math.round(value)) + "%";
  }
  function tier(score) {
    if (score === null || score === undefined) return "none";
    if (score >= 0.95) return "green";
    if (score >= 0.8) return "yellow";
    if (score >= 0.5) return "orange";
    return "red";
  }
  function chip(kind, value, label) {
    return el("span", { class: "chip " + kind + "-" + value }, [label === undefined ? value : label]);
  }
  function str(i) { return i < 0 ? "" : S[i]; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  // ------------------------------------------------------- paths (docs: normalize/paths.py)
  const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_\-]*$/;
  function formatKey(key) {
    if (typeof key === "number") return "[" + key + "]";
    if (PLAIN_KEY.test(key)) return "." + key;
    return "['" + key.replace(/'/g, "\\'") + "']";
  }
  function parsePath(path) {
    const keys = [];
    const re = /\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;
    let position = path.startsWith("$") ? 1 : 0;
    re.lastIndex = position;
    while (position < path.length) {
      const match = re.exec(path);
      if (!match) return null;
      if (match[1] !== undefined) keys.push(match[1]);
      else if (match[2] !== undefined) keys.push(Number(match[2]));
      else keys.push((match[3] !== undefined ? match[3] : match[4]).replace(/\\(.)/g, "$1"));
      position = re.lastIndex;
    }
    return keys;
  }

  // ------------------------------------------------------------------- overview
  function renderMeta() {
    const parts = [];
    if (summary.generated) parts.push("generated " + summary.generated);
    if (summary.tool) parts.push(summary.tool);
    document.getElementById("meta").textContent = parts.join(" · ");
  }

  function renderGate(box) {
    const gate = summary.gate;
    if (!gate) return;
    const lines = (gate.reasons || []).map((r) => el("li", { text: r }));
    const delta = summary.baseline;
    const changes = [];
    if (delta) {
      changes.push(el("p", { text: "Since the baseline " + delta.path + ": " + delta.new.length + " new, " +
        delta.fixed.length + " fixed" }));
      for (const [label, list] of [["new", delta.new], ["fixed", delta.fixed]]) {
        for (const f of list.slice(0, 20)) {
          changes.push(el("div", { class: "mono" }, [chip("sev", f.severity), " " + label + ": " + f.target + " · " +
            f.service + "." + f.operation + " " + f.kind + " at " + f.path + (f.count > 1 ? " ×" + f.count : "")]));
        }
      }
    }
    const known = summary.known;
    if (known) {
      changes.push(el("p", { text: known.matched + " known divergences (shown, not failing)" }));
      for (const entry of known.stale || []) {
        changes.push(el("div", { class: "mono", text: "no longer happening: " + (entry.service || "") + " " +
          (entry.operation || "") + " " + entry.path + " (" + entry.reason + ")" }));
      }
    }
    box.append(el("div", { class: "card gate-card " + (gate.passed ? "tier-good" : "tier-bad") }, [
      el("div", { class: "card-head" }, [el("span", { class: "target-name", text: "Gate: " +
        (gate.passed ? "passed" : "failed") })]),
      lines.length ? el("ul", null, lines) : null, ...changes]));
  }

  function renderCards() {
    const box = document.getElementById("score-cards");
    renderGate(box);
    for (const [position, target] of targets.entries()) {
      const verdicts = el("div", { class: "chips" }, VERDICTS.filter((v) => target.verdicts[v]).map(
        (v) => chip("verdict", v, target.verdicts[v] + " " + v)));
      const severities = el("div", { class: "chips" }, SEVERITIES.map(
        (s) => chip("sev", target.severities[s] ? s : "none", target.severities[s] + " " + s)));
      box.append(el("div", {
        class: "card score-card tier-" + tier(target.score), tabindex: "0",
        title: "Show this target's operations",
        onclick: () => { setFilters({ target: String(position), service: "", operation: "" }); focusResults(); },
      }, [
        el("div", { class: "card-head" }, [el("span", { class: "target-name", text: target.name }),
          el("span", { class: "endpoint", text: target.endpoint || "" })]),
        el("div", { class: "score-line" }, [el("span", { class: "score", text: pct(target.score) }),
          el("span", { class: "muted", text: (target.matching ?? "?") + " of " +
            (target.compared ?? target.exchanges ?? "?") + " compared exchanges match" })]),
        el("div", { class: "bar" }, [el("span", { style: "width:" + ((target.score || 0) * 100).toFixed(1) + "%" })]),
        el("div", { class: "label", text: "Operations by verdict" }), verdicts,
        el("div", { class: "label", text: "Divergences by severity" }), severities,
      ]));
    }
  }

  function renderMatrix() {
    const services = [...new Set(targets.flatMap((t) => t.services.map((s) => s.service)))].sort();
    const head = el("tr", null, [el("th", { text: "target" }), ...services.map((s) => el("th", { text: s }))]);
    const rows = targets.map((target, position) => {
      const byService = new Map(target.services.map((s) => [s.service, s]));
      return el("tr", null, [el("th", { text: target.name, scope: "row" }), ...services.map((service) => {
        const cell = byService.get(service);
        if (!cell) return el("td", { class: "cell tier-none", text: "–" });
        return el("td", {
          class: "cell tier-" + tier(cell.score), tabindex: "0",
          title: target.name + " · " + service + ": " + (cell.matching ?? "?") + " of " + (cell.exchanges ?? "?") +
            " exchanges match",
          onclick: () => { setFilters({ target: String(position), service, operation: "" }); focusResults(); },
        }, [el("strong", { text: pct(cell.score) }), el("small", { text: (cell.exchanges ?? "?") + " ex." })]);
      })]);
    });
    document.getElementById("matrix").append(el("table", { class: "matrix" }, [el("thead", null, [head]),
      el("tbody", null, rows)]));
  }

  function renderProvenance() {
    const recording = summary.recording || {};
    const header = recording.header || {};
    const fired = Object.entries((summary.rules || {}).fired || {}).sort((a, b) => b[1] - a[1]);
    const items = [
      ["Recorded", header.created], ["Reference", header.reference], ["Client", header.client],
      ["Recorded by", header.recorded_by || header.tool], ["Session", header.session],
      ["Recording", recording.path], ["Exchanges", recording.exchanges],
      ["Rule files", ((summary.rules || {}).files || []).join(", ")],
      ["Rules fired", fired.slice(0, 6).map(([id, n]) => id + " ×" + n).join(", ") +
        (fired.length > 6 ? " … (" + fired.length + " rules)" : "")],
    ];
    const list = document.getElementById("provenance");
    for (const [key, value] of items) {
      if ((key === "Recorded by" || key === "Session") && !value) continue;
      list.append(el("dt", { text: key }), el("dd", { text: value === undefined || value === null || value === "" ?
        "not recorded" : String(value) }));
    }
  }

  // ------------------------------------------------------------- results table
  const state = { tab: "operations", target: "", service: "", verdict: "", severity: "", q: "", operation: "",
    page: 0, sort: { operations: ["score", 1], exchanges: ["seq", 1] } };
  let visible = [];

  const OPERATION_COLUMNS = [
    ["target", "Target", (o) => targets[o.t].name],
    ["service", "Service", (o) => o.service || ""],
    ["operation", "Operation", (o) => o.operation || ""],
    ["verdict", "Verdict", (o) => VERDICTS.indexOf(o.verdict)],
    ["score", "Score", (o) => (o.score === null ? 2 : o.score), true],
    ["exchanges", "Matching", (o) => o.exchanges || 0, true],
    ["critical", "Critical", (o) => o.sev[0], true],
    ["major", "Major", (o) => o.sev[1], true],
    ["minor", "Minor", (o) => o.sev[2], true],
  ];
  const EXCHANGE_COLUMNS = [
    ["target", "Target", (i) => targets[index.t[i]].name],
    ["seq", "Seq", (i) => index.seq[i], true],
    ["service", "Service", (i) => str(index.svc[i])],
    ["operation", "Operation", (i) => str(index.op[i])],
    ["verdict", "Verdict", (i) => index.v[i]],
    ["severity", "Worst", (i) => worst(index.sev[i])],
    ["n", "Divergences", (i) => index.n[i], true],
    ["paths", "Paths", (i) => str(index.paths[i])],
    ["auth", "Auth", (i) => str(index.auth ? index.auth[i] : -1)],
  ];
  function worst(mask) {
    for (let s = 0; s < SEVERITIES.length; s++) if (mask & (1 << s)) return s;
    return 9;
  }

  function fillSelect(name, options) {
    const select = document.querySelector('#filters [name="' + name + '"]');
    select.replaceChildren(...options.map(([value, label]) => el("option", { value, text: label })));
  }
  function setupFilters() {
    fillSelect("target", [["", "all targets"], ...targets.map((t, i) => [String(i), t.name])]);
    const services = [...new Set(summary.operations.map((o) => o.service || ""))].sort();
    fillSelect("service", [["", "all services"], ...services.map((s) => [s, s || "(unknown)"])]);
    fillSelect("verdict", [["", "all verdicts"], ...VERDICTS.map((v) => [v, v])]);
    fillSelect("severity", [["", "any severity"], ...SEVERITIES.map((s) => [s, "has " + s])]);
    const form = document.getElementById("filters");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", (event) => {
      const field = event.target;
      if (!field.name) return;
      state[field.name] = field.value;
      state.page = 0;
      refresh();
    });
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => { state.tab = tab.dataset.tab; state.page = 0; refresh(); });
    }
  }
  function setFilters(values) {
    Object.assign(state, values, { page: 0 });
    syncForm();
    refresh();
  }
  function syncForm() {
    for (const name of ["target", "service", "verdict", "severity", "q"]) {
      document.querySelector('#filters [name="' + name + '"]').value = state[name];
    }
  }

  // The view lives in the URL's fragment (#tab=exchanges&severity=major&sort=-n&exchange=0:12), so a
  // link to the report file opens the same filtered, sorted table or exchange for whoever follows it.
  const URL_FIELDS = ["tab", "target", "service", "operation", "verdict", "severity", "q"];
  const DEFAULT_SORT = { operations: ["score", 1], exchanges: ["seq", 1] };
  let openKey = null;
  function writeUrl() {
    const params = new URLSearchParams();
    for (const name of URL_FIELDS) {
      if (state[name] !== "" && !(name === "tab" && state.tab === "operations")) params.set(name, state[name]);
    }
    const [key, direction] = state.sort[state.tab];
    const fallback = DEFAULT_SORT[state.tab];
    if (key !== fallback[0] || direction !== fallback[1]) params.set("sort", (direction < 0 ? "-" : "") + key);
    if (state.page) params.set("page", String(state.page + 1));
    if (openKey) params.set("exchange", openKey);
    const fragment = params.toString();
    history.replaceState(null, "", fragment ? "#" + fragment : location.pathname + location.search);
  }
  function readUrl() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const name of URL_FIELDS) if (params.has(name)) state[name] = params.get(name);
    if (state.tab !== "exchanges") state.tab = "operations";
    if (state.target !== "" && !targets[Number(state.target)]) state.target = "";
    const sort = params.get("sort");
    if (sort) {
      const key = sort.replace(/^-/, "");
      const columns = state.tab === "operations" ? OPERATION_COLUMNS : EXCHANGE_COLUMNS;
      if (columns.some((c) => c[0] === key)) state.sort[state.tab] = [key, sort.startsWith("-") ? -1 : 1];
    }
    const page = Number(params.get("page"));
    if (Number.isInteger(page) && page >= 1) state.page = page - 1;
    return params.get("exchange");
  }
  function focusResults() { closeExchange(); document.getElementById("results").scrollIntoView(); }

  function filterOperations() {
    const q = state.q.trim().toLowerCase();
    const severity = SEVERITIES.indexOf(state.severity);
    return summary.operations.filter((o) =>
      (state.target === "" || o.t === Number(state.target)) &&
      (state.service === "" || (o.service || "") === state.service) &&
      (state.operation === "" || o.operation === state.operation) &&
      (state.verdict === "" || o.verdict === state.verdict) &&
      (severity < 0 || o.sev[severity] > 0) &&
      (q === "" || (targets[o.t].name + " " + o.service + " " + o.operation + " " + o.rules.join(" "))
        .toLowerCase().includes(q)));
  }
  function filterExchanges() {
    const q = state.q.trim().toLowerCase();
    const target = state.target === "" ? -1 : Number(state.target);
    const service = state.service === "" ? -2 : S.indexOf(state.service);
    const operation = state.operation === "" ? -2 : S.indexOf(state.operation);
    const verdict = state.verdict === "" ? -2 : VERDICTS.indexOf(state.verdict);
    const severityBit = state.severity === "" ? 0 : 1 << SEVERITIES.indexOf(state.severity);
    // Search is decided once per distinct string, not once per row: 100k rows share few strings.
    let stringHit = null;
    if (q !== "") stringHit = S.map((s) => s.toLowerCase().includes(q));
    const seqQuery = /^\d+$/.test(q) ? Number(q) : -1;
    const out = [];
    for (let i = 0; i < rowCount; i++) {
      if (target >= 0 && index.t[i] !== target) continue;
      if (service !== -2 && index.svc[i] !== service) continue;
      if (operation !== -2 && index.op[i] !== operation) continue;
      if (verdict !== -2 && index.v[i] !== verdict) continue;
      if (severityBit && !(index.sev[i] & severityBit)) continue;
      if (stringHit && !(index.seq[i] === seqQuery || (index.op[i] >= 0 && stringHit[index.op[i]]) ||
        (index.svc[i] >= 0 && stringHit[index.svc[i]]) || (index.paths[i] >= 0 && stringHit[index.paths[i]]) ||
        targets[index.t[i]].name.toLowerCase().includes(q))) continue;
      out.push(i);
    }
    return out;
  }
  function sortRows(rows, columns, [key, direction]) {
    const column = columns.find((c) => c[0] === key) || columns[0];
    const get = column[2];
    const keyed = rows.map((row) => [get(row), row]);
    keyed.sort((a, b) => (a[0] < b[0] ? -direction : a[0] > b[0] ? direction : 0));
    return keyed.map((pair) => pair[1]);
  }

  function refresh() {
    for (const tab of document.querySelectorAll(".tab")) {
      tab.classList.toggle("active", tab.dataset.tab === state.tab);
      tab.setAttribute("aria-selected", String(tab.dataset.tab === state.tab));
    }
    const chipBox = document.getElementById("operation-filter");
    chipBox.replaceChildren();
    if (state.operation) {
      chipBox.append(el("button", { type: "button", class: "filter-chip", title: "Remove this filter",
        onclick: () => setFilters({ operation: "" }) }, ["operation: " + state.operation + " ✕"]));
    }
    const operations = state.tab === "operations";
    const columns = operations ? OPERATION_COLUMNS : EXCHANGE_COLUMNS;
    const rows = operations ? filterOperations() : filterExchanges();
    visible = sortRows(rows, columns, state.sort[state.tab]);
    const pages = Math.max(1, Math.ceil(visible.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    renderHead(columns);
    const slice = visible.slice(state.page * PAGE, state.page * PAGE + PAGE);
    const body = document.querySelector("#table tbody");
    body.replaceChildren(...slice.map(operations ? operationRow : exchangeRow));
    if (!slice.length) {
      body.append(el("tr", null, [el("td", { colspan: String(columns.length), class: "empty",
        text: "Nothing matches these filters." })]));
    }
    document.getElementById("row-count").textContent =
      plural(visible.length, operations ? "operation" : "exchange");
    renderPager(pages);
    filterTests();
    writeUrl();
  }
  // The per-test section (rendered with the page, present only for test-suite recordings) follows
  // the target, verdict and search filters.
  function filterTests() {
    const section = document.getElementById("tests");
    if (!section) return;
    const q = state.q.trim().toLowerCase();
    let shown = 0, total = 0;
    for (const row of section.querySelectorAll("tr.test-row")) {
      const keep = (state.target === "" || row.dataset.target === state.target) &&
        (state.verdict === "" || row.dataset.verdict === state.verdict) &&
        (q === "" || row.textContent.toLowerCase().includes(q));
      row.hidden = !keep;
      total++;
      if (keep) shown++;
    }
    for (const block of section.querySelectorAll(".tests-target")) {
      block.hidden = state.target !== "" && block.dataset.target !== state.target;
    }
    document.getElementById("tests-count").textContent =
      shown === total ? plural(total, "test") : shown + " of " + plural(total, "test") + " shown";
  }
  function renderHead(columns) {
    const [key, direction] = state.sort[state.tab];
    const head = document.querySelector("#table thead");
    head.replaceChildren(el("tr", null, columns.map(([name, label, , numeric]) => el("th", {
      class: "sortable" + (numeric ? " num" : "") + (name === key ? (direction > 0 ? " asc" : " desc") : ""),
      tabindex: "0",
      "aria-sort": name === key ? (direction > 0 ? "ascending" : "descending") : "none",
      onclick: () => {
        const current = state.sort[state.tab];
        state.sort[state.tab] = [name, current[0] === name ? -current[1] : 1];
        refresh();
      },
    }, [label]))));
  }
  function scoreCell(score) {
    return el("td", { class: "num" }, [el("span", { class: "score-pill tier-" + tier(score), text: pct(score) })]);
  }
  function operationRow(o) {
    return el("tr", {
      class: "clickable", title: "Show the exchanges of this operation",
      onclick: () => {
        state.tab = "exchanges";
        setFilters({ target: String(o.t), service: o.service || "", operation: o.operation || "" });
      },
    }, [
      el("td", { text: targets[o.t].name }), el("td", { text: o.service || "" }),
      el("td", { class: "mono", text: o.operation || "" }), el("td", null, [chip("verdict", o.verdict)]),
      scoreCell(o.score), el("td", { class: "num", text: (o.matching ?? "?") + " / " + (o.exchanges ?? "?") }),
      ...o.sev.map((n, s) => el("td", { class: "num" }, [n ? chip("sev", SEVERITIES[s], String(n)) : "·"])),
    ]);
  }
  function exchangeRow(i) {
    const w = worst(index.sev[i]);
    return el("tr", {
      class: "clickable", dataset: { row: String(i) }, title: "Open this exchange",
      onclick: () => openExchange(i),
    }, [
      el("td", { text: targets[index.t[i]].name }), el("td", { class: "num mono", text: String(index.seq[i]) }),
      el("td", { text: str(index.svc[i]) }), el("td", { class: "mono", text: str(index.op[i]) }),
      el("td", null, [chip("verdict", VERDICTS[index.v[i]] || "unknown")]),
      el("td", null, [w < 9 ? chip("sev", SEVERITIES[w]) : "·"]),
      el("td", { class: "num", text: String(index.n[i]) }),
      el("td", { class: "mono paths", text: str(index.paths[i]) }),
      el("td", { class: "mono auth", text: str(index.auth ? index.auth[i] : -1) }),
    ]);
  }
  function renderPager(pages) {
    const pager = document.getElementById("pager");
    const go = (page) => () => { state.page = page; refresh(); };
    pager.replaceChildren(
      el("button", { type: "button", disabled: state.page === 0, onclick: go(0) }, ["« first"]),
      el("button", { type: "button", disabled: state.page === 0, onclick: go(state.page - 1) }, ["‹ previous"]),
      el("span", { text: "page " + (state.page + 1) + " of " + pages }),
      el("button", { type: "button", disabled: state.page >= pages - 1, onclick: go(state.page + 1) }, ["next ›"]),
      el("button", { type: "button", disabled: state.page >= pages - 1, onclick: go(pages - 1) }, ["last »"]),
    );
  }

  // ---------------------------------------------------------- one exchange
  const chunkCache = new Map();
  async function loadChunk(number) {
    if (chunkCache.has(number)) return chunkCache.get(number);
    const text = document.getElementById("cd-chunk-" + number).textContent;
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const records = JSON.parse(await new Response(stream).text());
    chunkCache.set(number, records);
    return records;
  }

  async function openExchange(row) {
    const section = document.getElementById("exchange");
    section.replaceChildren(el("p", { class: "muted", text: "Loading exchange…" }));
    showExchangeSection(true);
    let record;
    try {
      const records = await loadChunk(Math.floor(row / index.chunk));
      record = records[row % index.chunk];
    } catch (error) {
      section.replaceChildren(el("p", { class: "notice", text: "This exchange's details cannot be read: " + error }));
      return;
    }
    openKey = index.t[row] + ":" + index.seq[row];
    writeUrl();
    renderExchange(section, row, record);
    section.scrollIntoView();
  }
  function showExchangeSection(show) {
    document.getElementById("exchange").hidden = !show;
    document.getElementById("results").hidden = show;
    document.getElementById("overview").hidden = show;
    const tests = document.getElementById("tests");
    if (tests) tests.hidden = show;
  }
  function closeExchange() {
    if (document.getElementById("exchange").hidden) return;
    showExchangeSection(false);
    openKey = null;
    writeUrl();
  }

  function renderExchange(section, row, record) {
    const target = targets[index.t[row]];
    const position = visible.indexOf(row);
    const neighbour = (step) => {
      const other = visible[position + step];
      return typeof other === "number" && state.tab === "exchanges" ? () => openExchange(other) : null;
    };
    const previous = neighbour(-1), next = neighbour(1);
    const divergences = record.divergences || [];
    section.replaceChildren(
      el("div", { class: "exchange-head" }, [
        el("button", { type: "button", class: "back", onclick: () => { closeExchange(); } }, ["← back to results"]),
        el("h2", null, [el("span", { class: "mono", text: (record.service || "?") + "." + (record.operation || "?") }),
          el("span", { class: "muted", text: " on " + target.name + " · seq " + record.seq })]),
        chip("verdict", record.verdict || "unknown"),
        authChip(record),
        el("span", { class: "spacer" }),
        el("button", { type: "button", disabled: !previous, onclick: previous }, ["‹ previous"]),
        el("button", { type: "button", disabled: !next, onclick: next }, ["next ›"]),
      ]),
      divergenceList(record, target),
      rulesFired(record),
      sideBySide(record),
    );
    highlight(section, divergences);
  }

  // How each side's call was signed; the replay re-signs, so the two can differ.
  function authChip(record) {
    const auth = record.auth;
    if (!auth || !auth.reference) return null;
    const label = !auth.candidate || auth.candidate === auth.reference ? auth.reference :
      auth.reference + " → " + auth.candidate;
    return el("span", { class: "chip auth", title: "Signature scheme: recorded call → call sent to the candidate",
      text: "auth: " + label });
  }

  function divergenceList(record, target) {
    const divergences = record.divergences || [];
    if (!divergences.length) {
      return el("div", { class: "notice ok", text: "No divergence: the candidate answered like the reference" +
        " after normalization." });
    }
    // The same divergence over list elements is listed once, at its [*] path, with a count.
    const shown = record.groups ? record.groups.map((g) => Object.assign({}, divergences[g.first],
      { path: g.path, count: g.count, accept_id: g.accept_id })) : divergences;
    return el("div", { class: "divergences" }, [el("h3", { text: plural(divergences.length, "divergence") }),
      ...shown.map((d) => el("div", { class: "divergence sev-border-" + d.severity }, [
        el("div", { class: "divergence-head" }, [chip("sev", d.severity), chip("kind", "any", d.kind),
          el("button", { type: "button", class: "path-link mono", title: "Show where this is",
            onclick: () => jumpTo(d.path) }, [d.path || "(no path)"]),
          d.count > 1 ? el("span", { class: "count", text: "×" + d.count }) : null,
          d.caused_by !== null && d.caused_by !== undefined ?
            el("span", { class: "muted", text: "caused by seq " + d.caused_by }) : null]),
        d.message ? el("p", { class: "message", text: d.message }) : null,
        el("div", { class: "values" }, [
          el("div", null, [el("span", { class: "label", text: "reference" }),
            valueBox(d.kind === "extra" && d.reference === null ? undefined : d.reference)]),
          el("div", null, [el("span", { class: "label", text: "candidate" }),
            valueBox(d.kind === "missing" && d.candidate === null ? undefined : d.candidate)]),
        ]),
        foldedList(d),
        acceptRule(record, target, d),
      ]))]);
  }
  function foldedList(d) {
    const folded = d.folded || [];
    if (!folded.length) return null;
    return el("details", { class: "folded" }, [
      el("summary", { text: plural(folded.length, "consequence") + " of this (folded)" }),
      ...folded.map((f) => el("div", { class: "mono" }, [chip("sev", f.severity), " " + f.kind + " at " + f.path]))]);
  }
  function valueBox(value) {
    const text = value === undefined ? "(absent)" : typeof value === "string" ? value : JSON.stringify(value, null, 2);
    return el("pre", { class: "value", text: text.length > 2000 ? text.slice(0, 2000) + "…" : text });
  }
  function yamlString(value) { return JSON.stringify(String(value)); }
  function ruleId(text) { return String(text || "any").replace(/[^A-Za-z0-9_-]+/g, "-"); }
  // The report computes each rule's id from what it accepts (target, operation, kind, path).
  function acceptId(target, record, d) {
    return d.accept_id || ("accept." + ruleId(target.name) + "." + ruleId(record.operation) + "." +
      ruleId(d.kind) + "." + ruleId(String(d.path || "$")));
  }
  function acceptRule(record, target, d) {
    const yaml = [
      "- id: " + acceptId(target, record, d),
      "  reason: " + yamlString(target.name + " " + d.kind + " divergence at " + d.path +
        " reviewed and accepted as harmless"),
      "  service: " + yamlString(record.service || ""),
      "  operation: " + yamlString(record.operation || ""),
      "  target: " + yamlString(target.name),
      "  path: " + yamlString(d.path || "$"),
      "  action: ignore",
    ].join("\n") + "\n";
    const pre = el("pre", { class: "yaml", text: yaml });
    const button = el("button", { type: "button", class: "copy", onclick: () => copy(yaml, button) }, ["Copy"]);
    return el("details", { class: "accept" }, [el("summary", { text: "Accept this divergence with a rule" }),
      el("div", { class: "yaml-box" }, [pre, button])]);
  }
  function copy(text, button, label) {
    // What was copied stays on the button, for whoever cannot read the clipboard (and for tests).
    button.dataset.copied = text;
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label || "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else fallbackCopy(text, done);
  }
  function fallbackCopy(text, done) {
    const area = el("textarea", { class: "offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
  function rulesFired(record) {
    const rules = record.rules_fired || [];
    return el("div", { class: "rules" }, [el("span", { class: "label", text: "Normalizer rules fired: " }),
      ...(rules.length ? rules.map((r) => el("span", { class: "chip rule", text: r })) :
        [el("span", { class: "muted", text: "none" })])]);
  }

  // The two sides: the normalized trees (where divergence paths point) and the raw HTTP traffic.
  function sideBySide(record) {
    const box = el("div", { class: "sides" });
    const views = [["normalized", "Normalized"], ["raw", "Raw request and response"], ["diff", "Raw body diff"]];
    const tabs = el("div", { class: "tabs small" }, views.map(([key, label]) => el("button", {
      type: "button", class: "tab" + (key === "normalized" ? " active" : ""), dataset: { view: key },
      onclick: (event) => {
        for (const tab of tabs.children) tab.classList.toggle("active", tab === event.currentTarget);
        for (const pane of box.querySelectorAll(".view")) pane.hidden = pane.dataset.view !== key;
      },
    }, [label])));
    const normalized = el("div", { class: "view columns", dataset: { view: "normalized" } });
    const raw = el("div", { class: "view columns", dataset: { view: "raw" }, hidden: true });
    const diff = el("div", { class: "view", dataset: { view: "diff" }, hidden: true }, [bodyDiff(record)]);
    for (const side of ["reference", "candidate"]) {
      const data = record[side];
      // details.jsonl does not repeat a candidate tree equal to the reference's.
      const same = side === "candidate" && data && data.normalized_same_as_reference && record.reference;
      const tree = same ? record.reference.normalized : data && data.normalized;
      normalized.append(el("div", { class: "column", dataset: { side } }, [el("h4", { text: side }),
        same ? el("p", { class: "muted same", text: "Same as the reference after normalization." }) : null,
        tree !== undefined && tree !== null ?
          el("div", { class: "tree mono" }, [treeNode(tree, [], null, true)]) :
          el("p", { class: "muted", text: record.omitted ? "Omitted to keep this page small; see details.jsonl." :
            "No normalized view (the report was rendered without details.jsonl)." })]));
      raw.append(el("div", { class: "column", dataset: { side } }, [el("h4", { text: side }),
        rawView(data, record, side)]));
    }
    box.append(tabs, normalized, raw, diff);
    return box;
  }
  function treeNode(value, keys, key, last) {
    const path = "$" + keys.map(formatKey).join("");
    const label = key === null ? [] : [el("span", { class: typeof key === "number" ? "idx" : "key",
      text: typeof key === "number" ? String(key) : JSON.stringify(key) }), ": "];
    const comma = last ? "" : ",";
    if (value !== null && typeof value === "object") {
      const isArray = Array.isArray(value);
      const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
      const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
      if (!entries.length) {
        return el("div", { class: "node", dataset: { path } }, [el("div", { class: "line" },
          [...label, open + close + comma])]);
      }
      return el("div", { class: "node", dataset: { path } }, [
        el("div", { class: "line" }, [...label, open]),
        el("div", { class: "children" }, entries.map(([k, v], n) => treeNode(v, [...keys, k], k,
          n === entries.length - 1))),
        el("div", { class: "line" }, [close + comma]),
      ]);
    }
    const kind = value === null ? "null" : typeof value;
    return el("div", { class: "node", dataset: { path } }, [el("div", { class: "line" },
      [...label, el("span", { class: "v-" + kind, text: JSON.stringify(value) }), comma])]);
  }
  function rawView(data, record, side) {
    if (!data) return el("p", { class: "muted", text: "No raw traffic in this report." });
    const parts = [];
    if (data.error) {
      parts.push(el("div", { class: "notice", text: "Transport error: " + (data.error.kind || "") + " " +
        (data.error.message || "") }));
    }
    if (data.request) {
      const command = curlCommand(record, side);
      const button = el("button", { type: "button", class: "copy curl", title: "A curl command for this request; " +
        "credentials and signatures are placeholders", onclick: () => copy(command, button, "Copy as curl") },
      ["Copy as curl"]);
      parts.push(el("h5", null, ["Request ", button]), el("div", { class: "mono start-line",
        text: (data.request.method || "") + " " + (data.request.url || "") }),
      headerTable(data.request.headers), bodyBox(data.request.body, data.request.headers));
    }
    if (data.response) {
      parts.push(el("h5", { text: "Response" }), el("div", { class: "mono start-line",
        text: "HTTP " + data.response.status }),
      headerTable(data.response.headers), bodyBox(data.response.body, data.response.headers));
    }
    if (!parts.length) {
      parts.push(el("p", { class: "muted", text: record.omitted ?
        "Omitted to keep this page small; see details.jsonl." : "No raw traffic recorded." }));
    }
    return el("div", null, parts);
  }
  // ---------------------------------------------------------- raw body diff
  // Bodies in details.jsonl are text excerpts or markers such as "<the reference's N bytes, sha256 …>".
  const BODY_MARKER = /^<(?:the reference's \d+ bytes|\d+ bytes (?:not stored|of (?:binary|text) data)), sha256 [0-9a-f]+>$/;
  function bodyText(message) {
    if (!message || message.body === undefined || message.body === null) return "";
    return typeof message.body === "string" ? message.body : message.body.text !== undefined ? message.body.text :
      JSON.stringify(message.body);
  }
  function bodyDiff(record) {
    const reference = record.reference && record.reference.response;
    const candidate = record.candidate && record.candidate.response;
    if (!reference || !candidate) {
      return el("p", { class: "muted", text: record.omitted ? "Omitted to keep this page small; see details.jsonl." :
        "Only one side has a response body." });
    }
    if (candidate.body_same_as_reference) {
      return el("p", { class: "notice ok", text: "The candidate's response body is byte for byte the reference's." });
    }
    const left = bodyText(reference), right = bodyText(candidate);
    if (BODY_MARKER.test(left) || BODY_MARKER.test(right)) {
      return el("div", null, [el("p", { class: "muted", text: "A body was too large or binary to keep as text:" }),
        el("pre", { class: "mono", text: "reference: " + left + "\ncandidate: " + right })]);
    }
    if (left === right) return el("p", { class: "notice ok", text: "The response bodies are identical." });
    const lines = lineDiff(prettyBody(left, reference.headers).split("\n"),
      prettyBody(right, candidate.headers).split("\n"));
    const added = lines.filter((l) => l[0] === "+").length, removed = lines.filter((l) => l[0] === "-").length;
    const out = [];
    const CONTEXT = 3;
    for (let i = 0; i < lines.length; i++) {
      const [sign, text] = lines[i];
      if (sign === " ") {
        let end = i;
        while (end < lines.length && lines[end][0] === " ") end++;
        const run = end - i;
        if (run > CONTEXT * 2 + 1) {
          const head = i === 0 ? 0 : CONTEXT, tail = end === lines.length ? 0 : CONTEXT;
          for (let k = i; k < i + head; k++) out.push(diffLine(" ", lines[k][1]));
          out.push(el("div", { class: "dl dl-skip", text: "… " + (run - head - tail) + " unchanged lines" }));
          for (let k = end - tail; k < end; k++) out.push(diffLine(" ", lines[k][1]));
          i = end - 1;
          continue;
        }
      }
      out.push(diffLine(sign, text));
    }
    return el("div", { class: "body-diff" }, [
      el("p", { class: "muted", text: "Response body, reference (−) against candidate (+): " + removed +
        " lines only in the reference, " + added + " only in the candidate." }),
      el("div", { class: "diff mono" }, out)]);
  }
  function diffLine(sign, text) {
    const kind = sign === "+" ? "add" : sign === "-" ? "del" : "same";
    return el("div", { class: "dl dl-" + kind, text: (sign === " " ? "  " : sign + " ") + text });
  }
  function lineDiff(a, b) {
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let endA = a.length, endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
    const midA = a.slice(start, endA), midB = b.slice(start, endB);
    // A longest-common-subsequence table up to 4M cells; past that the changed middle is shown whole.
    const middle = midA.length * midB.length <= 4e6 ? lcsDiff(midA, midB) :
      [...midA.map((l) => ["-", l]), ...midB.map((l) => ["+", l])];
    return [...a.slice(0, start).map((l) => [" ", l]), ...middle, ...a.slice(endA).map((l) => [" ", l])];
  }
  function lcsDiff(a, b) {
    const n = a.length, m = b.length, w = m + 1;
    const table = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * w + j] = a[i] === b[j] ? table[(i + 1) * w + j + 1] + 1 :
          Math.max(table[(i + 1) * w + j], table[i * w + j + 1]);
      }
    }
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
      else if (table[(i + 1) * w + j] >= table[i * w + j + 1]) out.push(["-", a[i++]]);
      else out.push(["+", b[j++]]);
    }
    while (i < n) out.push(["-", a[i++]]);
    while (j < m) out.push(["+", b[j++]]);
    return out;
  }

  // ---------------------------------------------------------- copy as curl
  // Credentials never appear: a SigV4 call is re-signed by curl itself from $AWS_ACCESS_KEY_ID and
  // $AWS_SECRET_ACCESS_KEY, a query signature or a redacted value becomes a <placeholder>.
  const QUERY_SECRETS = /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=)[^&]*/g;
  const SIGNING_HEADERS = new Set(["authorization", "x-amz-date", "x-amz-security-token", "host", "content-length"]);
  function shellQuote(text) { return "'" + String(text).replace(/'/g, "'\\''") + "'"; }
  function curlCommand(record, side) {
    const data = record[side] || {};
    const request = data.request || {};
    const headers = request.headers || [];
    const header = (name) => (headers.find(([n]) => n.toLowerCase() === name) || [, null])[1];
    const authorization = header("authorization") || "";
    const url = String(request.url || "").replace(QUERY_SECRETS, (found, name) => name + "<" +
      name.replace(/[?&=]/g, "").toLowerCase() + ">");
    const parts = ["curl -X " + shellQuote(request.method || "GET") + " " + shellQuote(url)];
    const scope = /Credential=[^/,\s]*\/\d{8}\/([^/]+)\/([^/]+)\//.exec(authorization);
    if (authorization.startsWith("AWS4-HMAC-SHA256")) {
      const region = scope ? scope[1] : "us-east-1", service = scope ? scope[2] : (record.service || "s3");
      parts.push("--aws-sigv4 " + shellQuote("aws:amz:" + region + ":" + service),
        '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"');
    } else if (authorization) {
      parts.push("-H " + shellQuote("Authorization: " + authorization.split(" ")[0] + " <credentials>"));
    }
    if (header("x-amz-security-token") !== null) parts.push('-H "x-amz-security-token: $AWS_SESSION_TOKEN"');
    for (const [name, value] of headers) {
      if (SIGNING_HEADERS.has(name.toLowerCase())) continue;
      parts.push("-H " + shellQuote(name + ": " + (String(value).includes("**REDACTED**") ? "<" + name.toLowerCase() +
        ">" : value)));
    }
    let body = bodyText(request);
    if (data.request && data.request.body_same_as_reference) body = bodyText((record.reference || {}).request);
    if (body && (BODY_MARKER.test(body) || / bytes, sha256 [0-9a-f]+\)$/.test(body))) {
      parts.push("--data-binary @body.bin");
      return parts.join(" \\\n  ") + "\n# body.bin: the request body, not kept in this report (" + body + ")\n";
    }
    if (body) parts.push("--data-binary " + shellQuote(body));
    return parts.join(" \\\n  ") + "\n";
  }

  function headerTable(headers) {
    if (!headers || !headers.length) return el("p", { class: "muted", text: "no headers" });
    return el("table", { class: "headers mono" }, [el("tbody", null, headers.map(([name, value]) =>
      el("tr", null, [el("th", { text: name }), el("td", { text: value })])))]);
  }
  function bodyBox(body, headers) {
    if (body === undefined || body === null || body === "") return el("p", { class: "muted", text: "empty body" });
    const text = typeof body === "string" ? body : body.text !== undefined ? body.text : JSON.stringify(body);
    return el("pre", { class: "body mono", text: prettyBody(text, headers) });
  }
  function prettyBody(text, headers) {
    const type = ((headers || []).find(([n]) => n.toLowerCase() === "content-type") || [, ""])[1].toLowerCase();
    const trimmed = text.trim();
    if (type.includes("json") || trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try { return JSON.stringify(JSON.parse(trimmed), null, 2); } catch (error) { /* not JSON after all */ }
    }
    if (type.includes("xml") || trimmed.startsWith("<")) return indentXml(trimmed);
    return text;
  }
  // A tokenizer rather than DOMParser: it keeps the server's exact text (entities, odd markup)
  // and never builds a document from untrusted input.
  function indentXml(text) {
    const tokens = text.replace(/>\s+</g, "><").split(/(<[^>]+>)/).filter((t) => t !== "");
    const lines = [];
    let depth = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      const pad = "  ".repeat(depth);
      if (token.startsWith("<?") || token.startsWith("<!")) lines.push(pad + token);
      else if (token.startsWith("</")) { depth = Math.max(0, depth - 1); lines.push("  ".repeat(depth) + token); }
      else if (token.startsWith("<") && token.endsWith("/>")) lines.push(pad + token);
      else if (token.startsWith("<")) {
        const text = tokens[i + 1], closing = tokens[i + 2];
        if (text !== undefined && !text.startsWith("<") && closing && closing.startsWith("</")) {
          lines.push(pad + token + text + closing);
          i += 2;
        } else if (text !== undefined && text.startsWith("</")) {
          lines.push(pad + token + text);
          i += 1;
        } else { lines.push(pad + token); depth++; }
      } else lines.push(pad + token);
    }
    return lines.join("\n");
  }

  // Marks every divergence at its path on both sides; a path missing on one side (a missing or
  // extra key) is marked on its closest existing parent.
  function highlight(section, divergences) {
    for (const side of ["reference", "candidate"]) {
      const column = section.querySelector('.view[data-view="normalized"] .column[data-side="' + side + '"]');
      if (!column) continue;
      const nodes = new Map();
      for (const node of column.querySelectorAll(".node")) nodes.set(node.dataset.path, node);
      for (const d of divergences) {
        // Compare paths in their canonical form, so ['Key'] and .Key find the same node.
        const keys = parsePath(d.path || "");
        if (!keys) continue;
        let node = nodes.get("$" + keys.map(formatKey).join(""));
        const exact = Boolean(node);
        while (!node && keys.length) { keys.pop(); node = nodes.get("$" + keys.map(formatKey).join("")); }
        if (!node || (!exact && !keys.length)) continue;
        node.classList.add(exact ? "diverged" : "diverged-near", "hl-" + d.severity);
        node.dataset.divergence = d.path;
        const line = node.querySelector(".line");
        line.append(el("span", { class: "mark sev-" + d.severity, title: d.message || "",
          text: (exact ? "" : "missing " + d.path + " · ") + d.kind + " · " + d.severity }));
      }
    }
  }
  function jumpTo(path) {
    const section = document.getElementById("exchange");
    for (const tab of section.querySelectorAll('.tabs.small .tab')) {
      if (tab.dataset.view === "normalized") tab.click();
    }
    const node = [...section.querySelectorAll(".node.diverged, .node.diverged-near")]
      .find((n) => n.dataset.divergence === path) || section.querySelector(".node.diverged");
    if (node) {
      node.scrollIntoView({ block: "center" });
      node.classList.remove("flash");
      void node.offsetWidth;
      node.classList.add("flash");
    }
  }

  function openFromUrl(key) {
    const match = /^(\d+):(-?\d+)$/.exec(key || "");
    if (!match) return;
    const t = Number(match[1]), seq = Number(match[2]);
    for (let i = 0; i < rowCount; i++) {
      if (index.t[i] === t && index.seq[i] === seq) { openExchange(i); return; }
    }
  }

  // Cards, cells and headings act on Enter too, so the report works from the keyboard.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target instanceof HTMLElement && event.target.matches("[tabindex]")) {
      event.target.click();
    }
  });

  renderMeta();
  renderCards();
  renderMatrix();
  renderProvenance();
  setupFilters();
  const wanted = readUrl();
  if (!summary.details && rowCount === 0) state.tab = "operations";
  syncForm();
  refresh();
  openFromUrl(wanted);
  // A link within the page (the per-test section's links to exchanges) changes only the fragment:
  // the view it names replaces the current one.
  window.addEventListener("hashchange", () => {
    Object.assign(state, { tab: "operations", target: "", service: "", verdict: "", severity: "", q: "",
      operation: "", page: 0 });
    const key = readUrl();
    syncForm();
    if (!key) closeExchange();
    refresh();
    openFromUrl(key);
  });
  window.compatDiffReadyMs = performance.now();
  document.documentElement.dataset.ready = "1";
})();
